"""Crosspath dashboard: `streamlit run app.py [-- --snapshots DIR --exceptions F --policy F]`.

Binds to 127.0.0.1 (.streamlit/config.toml); docs/dashboard.md says how to expose it behind auth.
"""

from __future__ import annotations

import sys

from dashboard.main import main

main(sys.argv[1:])

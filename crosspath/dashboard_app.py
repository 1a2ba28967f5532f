"""The dashboard's Streamlit script inside the package, for `crosspath dashboard` (the clone's app.py
does the same for `streamlit run app.py`)."""

from __future__ import annotations

import sys

from dashboard.main import main

main(sys.argv[1:])

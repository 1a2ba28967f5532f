"""findings.json: `Analysis.to_dict()` as documented in docs/findings.md.

Keys are sorted so that two runs over the same snapshot give byte-identical files (maps such as
targets_by_provider may be built from sets), which keeps diffs and CI caches honest.
"""

from __future__ import annotations

import json

from queries.findings import Analysis


def render(analysis: Analysis) -> str:
    return json.dumps(analysis.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

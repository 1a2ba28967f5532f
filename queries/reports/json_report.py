"""findings.json: `Analysis.to_dict()` as documented in docs/findings.md.

Keys are sorted so that two runs over the same snapshot give byte-identical files (maps such as
targets_by_provider may be built from sets), which keeps diffs and CI caches honest. Written with orjson
(json_document): the standard library's encoder runs in pure Python once it indents, 11 s for the 21,612
findings of the 100,000-identity benchmark organisation. The document is UTF-8 bytes, written as they are:
as text it would be held three times (bytes, text, the text encoded again), 88 MB each at 100k.
"""

from __future__ import annotations

from typing import Any

import orjson

from queries.findings import Analysis, fields_of


def json_document(document: Any, sort_keys: bool = True) -> bytes:
    """The document indented by 2, keys sorted, UTF-8 as is, a final newline: the layout of
    `json.dumps(document, indent=2, sort_keys=sort_keys, ensure_ascii=False)`, encoded, at orjson's speed (the two
    write the reports' documents alike, tests/reports checks; a float such as 1e-05 may be spelt another way).
    A dataclass in it is written as `fields_of` gives it, the form `plain` copies it to (every field, one
    whose name starts with `_` too, which orjson's own dataclass writing would leave out)."""
    option = (orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
              | orjson.OPT_PASSTHROUGH_DATACLASS)
    return orjson.dumps(document, default=fields_of,
                        option=option | (orjson.OPT_SORT_KEYS if sort_keys else 0))


def render(analysis: Analysis) -> bytes:
    return json_document(analysis.to_dict(copy_findings=False))  # read only: no copy of the findings needed

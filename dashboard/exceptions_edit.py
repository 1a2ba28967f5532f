"""The exceptions YAML as the dashboard edits it: list, validate a new one, append it atomically.

A new exception is appended as text so the file's comments survive; the whole result is parsed
with the same loader `crosspath scan --exceptions` uses before anything is written.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from graph.snapshot import write_atomic
from queries.exceptions import PolicyException, load_exceptions
from queries.findings import Analysis
from queries.yaml_files import ConfigError

_ITEM_INDENT = re.compile(r"^(\s*)- ", re.MULTILINE)


@dataclass
class NewException:
    id: str
    owner: str
    justification: str
    expires: date
    finding: str = ""  # scope: a finding id ...
    entry: str = ""  # ... or a match on entry (glob), gap type, target (glob)
    gap_type: str = ""
    target: str = ""

    def to_yaml_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id.strip()}
        if self.finding.strip():
            item["finding"] = self.finding.strip()
        match = {k: v.strip() for k, v in (("entry", self.entry), ("gap_type", self.gap_type),
                                           ("target", self.target)) if v.strip()}
        if match:
            item["match"] = match
        item.update(owner=self.owner.strip(), justification=self.justification.strip(), expires=self.expires)
        return item


def exception_rows(exceptions: list[PolicyException], analysis: Analysis | None, as_of: datetime) -> list[dict]:
    """One row per exception: scope, owner, justification, expiry, expired?, findings it covers."""
    rows = []
    for exc in exceptions:
        covered = [f.id for f in analysis.findings if exc.matches(f)] if analysis else []
        scope = exc.finding or ", ".join(
            f"{name}={value}" for name, value in (("entry", exc.entry), ("gap_type", exc.gap_type),
                                                  ("target", exc.target)) if value
        )
        rows.append({
            "id": exc.id, "owner": exc.owner, "justification": exc.justification,
            "expires": exc.expires.isoformat(), "expired": exc.expired(as_of), "scope": scope,
            "findings": ", ".join(covered),
        })
    return rows


def _appended_text(current: str, item: dict[str, Any]) -> str:
    """The file with `item` added at the end of its `exceptions:` list, keeping every comment."""
    if not yaml.safe_load(current or "null"):
        current = current.rstrip("\n") + ("\n" if current.strip() else "") + "exceptions:\n"
        indent = "  "
    else:
        found = _ITEM_INDENT.search(current)
        indent = found.group(1) if found else "  "
    block = yaml.safe_dump([item], sort_keys=False, allow_unicode=True, width=100)
    lines = [indent + line if line else line for line in block.splitlines()]
    return current.rstrip("\n") + "\n" + "\n".join(lines) + "\n"


def _parse(text: str, shown_as: Path) -> list[PolicyException]:
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / shown_as.name
        probe.write_text(text, encoding="utf-8")
        try:
            return load_exceptions(probe)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(str(probe), str(shown_as))) from None


def add_exception(path: Path, new: NewException, analysis: Analysis | None, as_of: datetime) -> PolicyException:
    """Validate `new` against the file and the snapshot, then write the file atomically.

    Raises ConfigError with a message that names the field and the fix; the file is untouched then.
    """
    if not new.id.strip():
        raise ConfigError("field 'id': give the exception an id, e.g. EX-2026-003")
    if not new.finding.strip() and not (new.entry.strip() or new.target.strip()):
        raise ConfigError("scope: pick a finding, or give an entry or target id pattern")
    if new.expires <= as_of.date():
        raise ConfigError(f"field 'expires': {new.expires} is not after the snapshot's collection date "
                          f"{as_of.date()}; an exception must expire in the future")
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    existing = _parse(current, path) if current.strip() else []
    if any(exc.id == new.id.strip() for exc in existing):
        raise ConfigError(f"field 'id': {new.id.strip()} is already used in {path}; pick another id")
    if analysis is not None and new.finding.strip() and all(f.id != new.finding.strip() for f in analysis.findings):
        raise ConfigError(f"field 'finding': no finding {new.finding.strip()} in this snapshot")
    item = new.to_yaml_dict()
    text = _appended_text(current, item)
    try:
        parsed = _parse(text, path)
        appended = len(parsed) == len(existing) + 1 and parsed[-1].id == item["id"]
    except ConfigError:
        appended = False  # a flow-style list (`exceptions: []`) or one that is not the last block
    if not appended:
        # Rewrite the document whole: its content stays, its comments do not.
        document = yaml.safe_load(current) or {}
        document["exceptions"] = list(document.get("exceptions") or []) + [item]
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
        parsed = _parse(text, path)
    write_atomic(path, text.encode("utf-8"))
    return parsed[-1]

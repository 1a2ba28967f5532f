"""The exceptions YAML as the dashboard edits it: list, validate a new one, append it atomically.

A new exception is appended as text so the file's comments survive; the whole result is parsed
with the same loader `crosspath scan --exceptions` uses before anything is written. The file written
is the one the caller passes (the dashboard fixes it when a session starts, dashboard/settings.py);
nothing in the form names a file. An exception whose match covers every finding (`entry: '*'`,
a pattern every finding's entry and target match) is refused unless confirmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from graph.snapshot import write_atomic
from queries.exceptions import PolicyException, parse_exceptions
from queries.findings import Analysis, Finding
from queries.yaml_files import ConfigError

_ITEM_INDENT = re.compile(r"^(\s*)- ", re.MULTILINE)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$")
_GLOB = re.compile(r"[*?\[]")
CONFIRM_LABEL = "This exception covers every finding of its gap type (every finding, without one): I confirm"


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
    covers_everything: bool = False  # the user confirmed a match that covers every finding

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


def _matches_everything(pattern: str, ids: set[str]) -> bool:
    """`*` (or `**`...), or a pattern with a wildcard that every one of several ids of the snapshot matches."""
    if not pattern:
        return True
    if not pattern.strip("*"):
        return True
    return bool(_GLOB.search(pattern)) and len(ids) > 1 and all(fnmatchcase(i, pattern) for i in ids)


def blanket_scope(new: NewException, findings: list[Finding]) -> str | None:
    """What a match that narrows nothing covers ("every finding", "every NO_MFA finding"): its entry
    and target patterns each match everything (absent, `*`, or every id among `findings`). None when
    the exception is scoped by finding id or its patterns leave some finding out."""
    if new.finding.strip():
        return None
    entry, target = new.entry.strip(), new.target.strip()
    if not (entry or target):
        return None  # no scope at all: add_exception says so
    entries = {f.entry["id"] for f in findings}
    targets = {f.target["id"] for f in findings}
    if not (_matches_everything(entry, entries) and _matches_everything(target, targets)):
        return None
    gap = new.gap_type.strip()
    return f"every {gap} finding" if gap else "every finding"


def add_exception(path: Path, new: NewException, analysis: Analysis | None, as_of: datetime) -> PolicyException:
    """Validate `new` against the file and the snapshot, then write the file atomically.

    Raises ConfigError with a message that names the field and the fix; the file is untouched then.
    """
    if not new.id.strip():
        raise ConfigError("field 'id': give the exception an id, e.g. EX-2026-003")
    if not _ID.match(new.id.strip()):
        raise ConfigError(f"field 'id': {new.id.strip()!r} is not an id; use letters, digits and . _ : - "
                          "(e.g. EX-2026-003)")
    if not new.finding.strip() and not (new.entry.strip() or new.target.strip()):
        raise ConfigError("scope: pick a finding, or give an entry or target id pattern")
    blanket = blanket_scope(new, analysis.findings if analysis else [])
    if blanket and not new.covers_everything:
        patterns = ", ".join(f"{name} {value.strip()!r}" for name, value in (("entry", new.entry),
                                                                              ("target", new.target)) if value.strip())
        raise ConfigError(f"scope: {patterns} match(es) every id, so this exception covers {blanket} (of this "
                          f"snapshot and of every later one); narrow the pattern, or tick '{CONFIRM_LABEL}'")
    if new.expires <= as_of.date():
        raise ConfigError(f"field 'expires': {new.expires} is not after the snapshot's collection date "
                          f"{as_of.date()}; an exception must expire in the future")
    raw = path.read_bytes() if path.is_file() else b""
    existing = parse_exceptions(raw, path) if raw.strip() else []
    current = raw.decode("utf-8")  # parse_exceptions refused any other encoding
    if any(exc.id == new.id.strip() for exc in existing):
        raise ConfigError(f"field 'id': {new.id.strip()} is already used in {path}; pick another id")
    if analysis is not None and new.finding.strip() and all(f.id != new.finding.strip() for f in analysis.findings):
        raise ConfigError(f"field 'finding': no finding {new.finding.strip()} in this snapshot")
    item = new.to_yaml_dict()
    text = _appended_text(current, item)
    try:
        parsed = parse_exceptions(text, path)
        appended = len(parsed) == len(existing) + 1 and parsed[-1].id == item["id"]
    except ConfigError:
        appended = False  # a flow-style list (`exceptions: []`) or one that is not the last block
    if not appended:
        # Rewrite the document whole: its content stays, its comments do not.
        document = yaml.safe_load(current) or {}
        document["exceptions"] = list(document.get("exceptions") or []) + [item]
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
        parsed = parse_exceptions(text, path)
    write_atomic(path, text.encode("utf-8"))
    return parsed[-1]

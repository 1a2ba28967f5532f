"""The exceptions YAML as the dashboard edits it: validate a new one, append it atomically.

A new exception is appended as text so the file's comments survive; the whole result is parsed
with the same loader `crosspath scan --exceptions` uses before anything is written (so the file's own
rules hold: approved_by with approved_at, review_by before expires, broad only with an approver). The
file written is the one the caller passes (the dashboard fixes it when a session starts,
dashboard/settings.py); nothing in the form names a file. Before writing, the exception is judged as
the next scan would judge it (queries/exception_review.py `refusals`, against this snapshot's findings and
the policy's `exceptions:` limits): one the policy would refuse (no approval when required, a lifetime
over max_lifetime_days, more findings matched than max_findings without `broad` and an approver) is
not written. `created` is the day it is written (today, UTC; not the snapshot's collection date: the
lifetime limit counts from when the exception was made).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from graph.snapshot import write_atomic
from queries.exception_review import refusals
from queries.exceptions import PolicyException, parse_exceptions
from queries.findings import Analysis
from queries.policy import load_policy
from queries.yaml_files import ConfigError

_ITEM_INDENT = re.compile(r"^(\s*)- ", re.MULTILINE)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$")


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
    approved_by: str = ""
    approved_at: date | None = None
    ticket: str = ""  # a link (http:// or https://)
    review_by: date | None = None
    broad: bool = False  # may match more findings than the policy's max_findings (needs an approver)

    def to_yaml_dict(self, created: date) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id.strip()}
        if self.finding.strip():
            item["finding"] = self.finding.strip()
        match = {k: v.strip() for k, v in (("entry", self.entry), ("gap_type", self.gap_type),
                                           ("target", self.target)) if v.strip()}
        if match:
            item["match"] = match
        item.update(owner=self.owner.strip(), justification=self.justification.strip(), created=created)
        if self.approved_by.strip():
            item["approved_by"] = self.approved_by.strip()
        if self.approved_at is not None:
            item["approved_at"] = self.approved_at
        if self.ticket.strip():
            item["ticket"] = self.ticket.strip()
        if self.review_by is not None:
            item["review_by"] = self.review_by
        if self.broad:
            item["broad"] = True
        item["expires"] = self.expires
        return item


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


def add_exception(path: Path, new: NewException, analysis: Analysis | None, as_of: datetime,
                  today: date | None = None) -> PolicyException:
    """Validate `new` against the file, the snapshot and the policy, then write the file atomically.

    `analysis`: the snapshot on screen (its findings and its policy's `exceptions:` limits; without one,
    the default policy and no findings). `today`: the `created` date written (default: today, UTC).
    Raises ConfigError with a message that names the field and the fix; the file is untouched then.
    """
    if not new.id.strip():
        raise ConfigError("field 'id': give the exception an id, e.g. EX-2026-003")
    if not _ID.match(new.id.strip()):
        raise ConfigError(f"field 'id': {new.id.strip()!r} is not an id; use letters, digits and . _ : - "
                          "(e.g. EX-2026-003)")
    if not new.finding.strip() and not (new.entry.strip() or new.target.strip()):
        raise ConfigError("scope: pick a finding, or give an entry or target id pattern")
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
    item = new.to_yaml_dict(today or datetime.now(UTC).date())
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
    _refuse(parsed[-1], analysis, as_of)
    write_atomic(path, text.encode("utf-8"))
    return parsed[-1]


def _refuse(exc: PolicyException, analysis: Analysis | None, as_of: datetime) -> None:
    """What the next scan would refuse (queries/exception_review.py), refused before it is written."""
    rules = analysis.policy["exceptions"] if analysis is not None else load_policy(None).exception_rules
    matched = sum(exc.matches(finding) for finding in analysis.findings) if analysis is not None else 0
    problems = refusals(exc, matched, rules, as_of)
    if problems:
        raise ConfigError(f"the policy would refuse exception {exc.id}: " + "; ".join(problems.values()))

"""Accepted risks: exceptions with owner, justification, scope and expiry.

File format (YAML)::

    exceptions:
      - id: EX-2026-001                 # optional; defaults to the position in the file
        finding: CP-0123456789ab        # scope: a finding id ...
        match:                          # ... or a match (globs on ids, a gap type)
          entry: "entra:a1000000-*"
          gap_type: NO_MFA
          target: "aws:arn:aws:s3:::lumen-prod-*"
        owner: it-security
        justification: Break-glass account, monitored by the SOC.
        expires: 2027-06-30

An exception that has expired no longer hides its finding: the finding re-opens
and the report shows which exception lapsed. The file is validated whole by queries/yaml_files.py
(EXCEPTIONS_SCHEMA): an unknown field anywhere (`exception:` for `exceptions:`) is an error, never
ignored; `notes:` holds free text for the file's readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from queries.findings import ExceptionRef, Finding
from queries.yaml_files import EXCEPTIONS_SCHEMA, Document, as_date, parse_document, read_document


@dataclass(frozen=True)
class PolicyException:
    id: str
    owner: str
    justification: str
    expires: date
    finding: str | None = None
    entry: str | None = None
    gap_type: str | None = None
    target: str | None = None

    def matches(self, finding: Finding) -> bool:
        if self.finding is not None:
            return finding.id == self.finding
        if self.entry is not None and not fnmatchcase(finding.entry["id"], self.entry):
            return False
        if self.gap_type is not None and self.gap_type not in finding.gap_types:
            return False
        return self.target is None or fnmatchcase(finding.target["id"], self.target)

    def expired(self, as_of: datetime) -> bool:
        return self.expires < as_of.astimezone(UTC).date()

    def ref(self, as_of: datetime) -> ExceptionRef:
        return ExceptionRef(self.id, self.owner, self.justification, self.expires.isoformat(), self.expired(as_of))


def _exception(item: dict[str, Any], index: int) -> PolicyException:
    """One validated entry (queries/yaml_files.py EXCEPTIONS_SCHEMA) as a PolicyException."""
    match = item.get("match") or {}
    return PolicyException(
        id=str(item.get("id") or f"exception-{index + 1}"),
        owner=str(item["owner"]),
        justification=str(item["justification"]).strip(),
        expires=as_date(item["expires"]),
        finding=item.get("finding"),
        entry=_text(match.get("entry")),
        gap_type=match.get("gap_type"),
        target=_text(match.get("target")),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _from_document(document: Document) -> list[PolicyException]:
    items = (document.data or {}).get("exceptions") or []
    return [_exception(item, i) for i, item in enumerate(items)]


def parse_exceptions(raw: bytes | str, path: Path) -> list[PolicyException]:
    """The exceptions in `raw`, the content of `path` (errors name it): validated as a whole first."""
    return _from_document(parse_document(raw, path, EXCEPTIONS_SCHEMA))


def load_exceptions(path: Path | None) -> list[PolicyException]:
    return [] if path is None else _from_document(read_document(path, EXCEPTIONS_SCHEMA))


def apply_exceptions(findings: list[Finding], exceptions: list[PolicyException], as_of: datetime) -> None:
    """Mark findings covered by an exception in force; a lapsed one re-opens its finding."""
    for finding in findings:
        matching = [exc for exc in exceptions if exc.matches(finding)]
        if not matching:
            continue
        in_force = [exc for exc in matching if not exc.expired(as_of)]
        chosen = in_force[0] if in_force else max(matching, key=lambda exc: exc.expires)
        finding.exception = chosen.ref(as_of)
        finding.status = "excepted" if in_force else "open"

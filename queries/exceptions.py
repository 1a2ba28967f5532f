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
and the report shows which exception lapsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from graph.yaml_files import ConfigError, line_of, load_yaml
from queries.findings import GAP_TYPES, ExceptionRef, Finding

_FIELDS = {"id", "finding", "match", "owner", "justification", "expires", "__line__"}
_MATCH_FIELDS = {"entry", "gap_type", "target", "__line__"}


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


def _parse_date(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: field 'expires' must be a date like 2027-06-30, got {value!r}") from None


def _parse_entry(item: Any, index: int, path: Path) -> PolicyException:
    where = f"{path}: exception #{index + 1} ({line_of(item)})"
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: each exception must be a mapping with owner, justification, expires")
    unknown = set(item) - _FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(_FIELDS - {'__line__'})}")
    for field_name in ("owner", "justification", "expires"):
        if not item.get(field_name):
            raise ConfigError(f"{where}: field '{field_name}' is required (every exception needs an owner, "
                              "a justification and an expiry date)")
    match = item.get("match") or {}
    if not isinstance(match, dict) or set(match) - _MATCH_FIELDS:
        raise ConfigError(f"{where}: field 'match' may hold only entry, gap_type and target")
    if not item.get("finding") and not any(k in match for k in ("entry", "gap_type", "target")):
        raise ConfigError(f"{where}: give a scope: 'finding: CP-...' or 'match: {{entry: ..., gap_type: ...}}'")
    gap_type = match.get("gap_type")
    if gap_type is not None and gap_type not in GAP_TYPES:
        raise ConfigError(f"{where}: field 'match.gap_type' must be one of {list(GAP_TYPES)}, got {gap_type!r}")
    return PolicyException(
        id=str(item.get("id") or f"exception-{index + 1}"),
        owner=str(item["owner"]),
        justification=str(item["justification"]).strip(),
        expires=_parse_date(item["expires"], where),
        finding=item.get("finding"),
        entry=match.get("entry"),
        gap_type=gap_type,
        target=match.get("target"),
    )


def load_exceptions(path: Path | None) -> list[PolicyException]:
    if path is None:
        return []
    document = load_yaml(path)
    if document is None:
        return []
    if not isinstance(document, dict) or not isinstance(document.get("exceptions", []), list):
        raise ConfigError(f"{path}: expected a mapping with a list under 'exceptions:'")
    return [_parse_entry(item, i, path) for i, item in enumerate(document.get("exceptions") or [])]


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

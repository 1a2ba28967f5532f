"""Accepted risks: exceptions with owner, justification, scope, approval and expiry.

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
        created: 2026-07-01             # optional: when it was written (the lifetime counts from here)
        approved_by: ciso@lumenfreight.com   # optional, both or neither; required by
        approved_at: 2026-07-02              #   the policy's exceptions.require_approval
        ticket: https://jira.example.com/browse/SEC-42   # optional link
        review_by: 2027-01-15           # optional, before expires
        broad: true                     # needed (with approved_by) to match more findings than the
                                        #   policy's exceptions.max_findings (default 1)

The file is validated whole by queries/yaml_files.py (EXCEPTIONS_SCHEMA): an unknown field anywhere
(`exception:` for `exceptions:`) is an error, never ignored; so are a `review_by` after `expires`,
`approved_by` without `approved_at` (or the reverse) and `broad: true` without an approver.
What the policy limits (lifetime, approval, breadth) is judged per scan by
queries/exception_review.py: an exception over a limit is refused (it hides nothing) and listed.
`notes:` holds free text for the file's readers. docs/exceptions.md documents every rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from queries.findings import Finding
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
    created: date | None = None
    approved_by: str | None = None
    approved_at: date | None = None
    ticket: str | None = None
    review_by: date | None = None
    broad: bool = False
    where: str = ""  # "file: line N", for messages

    def matches(self, finding: Finding) -> bool:
        if self.finding is not None:
            return finding.id == self.finding
        if self.entry is not None and not fnmatchcase(finding.entry["id"], self.entry):
            return False
        if self.gap_type is not None and self.gap_type not in finding.gap_types:
            return False
        return self.target is None or fnmatchcase(finding.target["id"], self.target)

    def expired(self, as_of: datetime) -> bool:
        return self.expires < day(as_of)

    @property
    def approved(self) -> bool:
        return self.approved_by is not None

    @property
    def approval(self) -> str:
        """Who approved it and when: a change of either is a re-approval (a new fingerprint is recorded)."""
        return f"{self.approved_by or ''}@{self.approved_at.isoformat() if self.approved_at else ''}"

    @property
    def scope(self) -> str:
        if self.finding is not None:
            return f"finding {self.finding}"
        parts = [f"{name} {value}" for name, value in
                 (("entry", self.entry), ("gap_type", self.gap_type), ("target", self.target)) if value is not None]
        return "match " + ", ".join(parts)


def day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _exception(item: dict[str, Any], index: int, document: Document) -> PolicyException:
    """One validated entry (queries/yaml_files.py EXCEPTIONS_SCHEMA) as a PolicyException."""
    match = item.get("match") or {}
    where = ("exceptions", index)
    exception = PolicyException(
        id=str(item.get("id") or f"exception-{index + 1}"),
        owner=str(item["owner"]),
        justification=str(item["justification"]).strip(),
        expires=as_date(item["expires"]),
        finding=item.get("finding"),
        entry=_text(match.get("entry")),
        gap_type=match.get("gap_type"),
        target=_text(match.get("target")),
        created=_date(item.get("created")),
        approved_by=_text(item.get("approved_by")),
        approved_at=_date(item.get("approved_at")),
        ticket=_text(item.get("ticket")),
        review_by=_date(item.get("review_by")),
        broad=item.get("broad") is True,
        where=f"{document.path}: line {document.line(where)}",
    )
    _check(exception, document, where)
    return exception


def _check(exception: PolicyException, document: Document, where: tuple[str | int, ...]) -> None:
    """What one field's rules cannot say."""
    if (exception.approved_by is None) != (exception.approved_at is None):
        written, missing, example = (("approved_by", "approved_at", "2026-11-02") if exception.approved_at is None
                                     else ("approved_at", "approved_by", "ciso@example.com"))
        raise document.error((*where, written), f"exception {exception.id} has {written} without {missing}",
                             f"give both, who approved it and when (e.g. {missing}: {example})")
    if exception.review_by is not None and exception.review_by > exception.expires:
        raise document.error((*where, "review_by"),
                             f"exception {exception.id}: review_by {exception.review_by} is after expires "
                             f"{exception.expires}", "a review comes before the expiry: move review_by earlier "
                             "or drop it")
    if exception.broad and not exception.approved:
        raise document.error((*where, "broad"), f"exception {exception.id} is broad: true without an approver",
                             "a broad exception needs approved_by and approved_at")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _date(value: Any) -> date | None:
    return None if value is None else as_date(value)


def _from_document(document: Document) -> list[PolicyException]:
    items = (document.data or {}).get("exceptions") or []
    exceptions = [_exception(item, i, document) for i, item in enumerate(items)]
    seen: dict[str, int] = {}
    for index, exc in enumerate(exceptions):
        if exc.id in seen:  # approvals are recorded by id: two under one id would overwrite each other
            raise document.error(("exceptions", index, "id"), f"exception id {exc.id} is used twice (first by "
                                 f"exception #{seen[exc.id] + 1})", "give each exception its own id")
        seen[exc.id] = index
    return exceptions


def parse_exceptions(raw: bytes | str, path: Path) -> list[PolicyException]:
    """The exceptions in `raw`, the content of `path` (errors name it): validated as a whole first."""
    return _from_document(parse_document(raw, path, EXCEPTIONS_SCHEMA))


def load_exceptions(path: Path | None) -> list[PolicyException]:
    return [] if path is None else _from_document(read_document(path, EXCEPTIONS_SCHEMA))

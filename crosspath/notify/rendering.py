"""Words every channel shares: the subject line, the counts, one line per finding."""

from __future__ import annotations

from crosspath.notify.notice import Notice, NoticeFinding

SECTION_HEADINGS = {"new": "New findings", "reopened": "Reopened findings", "overdue": "Overdue findings"}


def headline(notice: Notice) -> str:
    """`Crosspath — Contoso: 2 new, 1 reopened, 3 overdue` (the email subject and chat fallback text)."""
    announced = notice.announced()
    news = ", ".join(f"{count} {name}" for name, count in announced.items() if count) or \
        "nothing new, reopened or overdue"
    if notice.coverage:
        news = f"coverage incomplete; {news}"
    where = f" — {notice.organisation}" if notice.organisation else ""
    team = f" [{', '.join(notice.teams)}]" if notice.teams else ""
    return f"{notice.title}{where}{team}: {news}"


def counts_line(notice: Notice) -> str:
    counts = notice.counts
    return (f"{counts.open} open · {counts.new} new · {counts.reopened} reopened · {counts.overdue} overdue · "
            f"{counts.excepted} excepted")


def caveat_line(notice: Notice) -> str | None:
    """What the reader must know about what this notice covers: sources the run did not read (first: a
    quiet notice is not a clean one), and a channel that only gets some teams' findings."""
    parts = []
    if notice.coverage:
        parts.append("Not everything was read, so findings may be missing: " + "; ".join(notice.coverage) + ".")
    if notice.teams:
        announced = notice.announced()
        parts.append(f"Only findings owned by team {', '.join(notice.teams)}: {announced['new']} new, "
                     f"{announced['reopened']} reopened, {announced['overdue']} overdue (counts above are the whole "
                     "run's).")
    return " ".join(parts) or None


def owner_text(finding: NoticeFinding) -> str:
    if finding.team and finding.owner:
        return f"team {finding.team} ({finding.owner})"
    if finding.team:
        return f"team {finding.team}"
    if finding.owner:
        return finding.owner
    return "no owner"


def finding_details(finding: NoticeFinding) -> str:
    """`entry svc-deploy · team platform (alice) · open 45 days`"""
    parts = [f"entry {finding.entry}" if finding.entry else "", owner_text(finding)]
    if finding.days_open is not None:
        parts.append(f"open {finding.days_open} day{'s' if finding.days_open != 1 else ''}")
    return " · ".join(part for part in parts if part)


def finding_line(finding: NoticeFinding) -> str:
    return f"[{finding.severity.upper()}] {finding.id} {finding.title} — {finding_details(finding)}"


def more_line(hidden: int) -> str | None:
    return f"… and {hidden} more" if hidden > 0 else None


def fix_line(fix: dict) -> str:
    closes = int(fix.get("closes") or 0)
    return f"{fix.get('description', '')} (closes {closes} finding{'s' if closes != 1 else ''})"

"""Path view: the picture of a path, nodes coloured by provider, the text beside it.

Shows the picture another page sent here (a blast-radius or who-can-write row), else the finding
picked in its own selector; findings are searched so a 100k-identity estate still lists quickly.
"""

from __future__ import annotations

import streamlit as st

from dashboard.context import Context
from dashboard.path_views import from_finding
from dashboard.views.common import PATH_FINDING, PATH_PICTURE, show_picture
from queries.reports.describe import entry_age, entry_mfa_mark, exception_note, more_targets, plural
from queries.reports.markdown import md

MAX_CHOICES = 200


def _legend() -> None:
    st.caption("Colours: AWS orange · Entra ID blue · GCP green · Kubernetes indigo · PostgreSQL slate blue · "
               "MySQL teal · external grey. Green padlock: the edge demands MFA; `MFA ?`: unknown; red "
               "`no MFA`: the person's entry does not enforce it; a machine's entry (which cannot answer MFA) shows "
               "its key's age in orange instead. Hover an edge for its `via`.")


def _finding_choices(ctx: Context, search: str) -> dict[str, str]:
    frame = ctx.findings()
    if frame.empty:
        return {}
    if search.strip():
        frame = frame[frame["search"].str.contains(search.strip().lower(), regex=False)]
    wanted = st.session_state.get(PATH_FINDING)
    chosen = frame.head(MAX_CHOICES)
    labels = {row.id: f"#{row.rank} {row.severity} · {row.title}" for row in chosen.itertuples()}
    if wanted and wanted not in labels:
        finding = ctx.finding(wanted)
        if finding is not None:
            labels = {wanted: f"{finding.severity} · {finding.title}", **labels}
    return labels


def render(ctx: Context) -> None:
    st.header("Path view")
    _legend()
    sent = st.session_state.get(PATH_PICTURE)
    if sent is not None:
        st.subheader(sent.title)
        entry = sent.entry
        marks = [mark for mark in (entry_mfa_mark(entry), entry_age(entry)) if mark]
        st.markdown(f"Entry: **{md(entry['name'])}** ({entry['provider']} {entry['kind']}) · {' · '.join(marks)}")
        show_picture(sent)
        st.button("Show a finding instead", key="path_clear", on_click=st.session_state.update,
                  kwargs={PATH_PICTURE: None})
        return
    search = st.text_input("Find a finding (id, entry, target, path)", key="path_search")
    labels = _finding_choices(ctx, search)
    if not labels:
        st.info("No finding matches." if search else "This snapshot has no findings: nothing to draw.")
        return
    if st.session_state.get(PATH_FINDING) not in labels:
        st.session_state[PATH_FINDING] = next(iter(labels))
    finding_id = st.selectbox("Finding", list(labels), format_func=labels.get, key=PATH_FINDING)
    finding = ctx.finding(finding_id)
    st.subheader(f"{finding.severity.upper()} · {', '.join(finding.gap_types)}")
    st.markdown(md(finding.title))
    entry = finding.entry
    marks = [mark for mark in (entry_mfa_mark(entry), entry_age(entry)) if mark]
    facts = [f"Entry **{md(entry['name'])}** ({entry['provider']} {entry['kind']}, {' · '.join(marks)})",
             f"{plural(finding.hops, 'hop')}", f"providers {' → '.join(finding.providers)}"]
    if more_targets(finding):
        facts.append(more_targets(finding))
    st.markdown(" · ".join(facts))
    if finding.exception is not None:
        (st.info if finding.exception.state == "in_force" else st.warning)(exception_note(finding))
    show_picture(from_finding(finding))
    if finding.remediation:
        st.markdown("**How to fix**")
        st.markdown("\n".join(f"- {md(line)}" for line in finding.remediation))

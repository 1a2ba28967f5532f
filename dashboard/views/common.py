"""Pieces several pages share: page switching, the path picture with its explanation."""

from __future__ import annotations

from typing import Any

import streamlit as st

from collectors import technique_catalogue
from dashboard.path_views import PathPicture, reference_text, techniques_on
from queries.reports.markdown import md

PAGE_KEY = "page"
OVERVIEW, FINDINGS, PATH_VIEW = "Overview", "Findings", "Path view"
IDENTITIES, RESOURCES, DRIFT = "Identity explorer", "Resource explorer", "Drift"
EXCEPTIONS, CYPHER = "Exceptions", "Cypher console"
PAGES = [OVERVIEW, FINDINGS, PATH_VIEW, IDENTITIES, RESOURCES, DRIFT, EXCEPTIONS, CYPHER]
SIDE_BY_SIDE_WIDTH = 900  # pixels: a wider picture gets the page's width and its text goes under it
PATH_PICTURE = "path_picture"  # session state: the picture the Path view shows
PATH_FINDING = "path_finding"  # session state: the finding the Path view shows (its selectbox)


def go_to(page: str, **state: Any) -> None:
    """A button callback: set session state, then switch page on the rerun that follows."""
    for name, value in state.items():
        st.session_state[name] = value
    st.session_state[PAGE_KEY] = page


def open_finding_button(finding_id: str, key: str) -> None:
    st.button("Open in Path view", key=key, on_click=go_to,
              kwargs={"page": PATH_VIEW, PATH_FINDING: finding_id, PATH_PICTURE: None})


def open_picture_button(picture: PathPicture, key: str) -> None:
    st.button("Open in Path view", key=key, on_click=go_to, kwargs={"page": PATH_VIEW, PATH_PICTURE: picture})


def show_picture(picture: PathPicture) -> None:
    """The picture with the path in words beside it (under it when the path is too long to fit)."""
    picture_area, text_area = st.columns([3, 2]) if picture.width <= SIDE_BY_SIDE_WIDTH else (st, st)
    picture_area.markdown(picture.html(), unsafe_allow_html=True)
    text_area.markdown("**How the path works**")
    text_area.markdown("\n".join(f"{n}. {md(line)}" for n, line in enumerate(picture.explanation, 1)))
    show_techniques(picture, text_area)


def show_techniques(picture: PathPicture, area: Any) -> None:
    """Each escalation technique on the path, linked to its catalogue entry (requires, fix, references)."""
    used = techniques_on(picture.path, technique_catalogue())
    if not used:
        return
    area.markdown("**Techniques on this path**")
    area.markdown("\n".join(f"- hop {', '.join(map(str, hops))}: [`{t.id}`](#{t.anchor}) {md(t.title)}"
                             for t, hops in used))
    for t, _ in used:
        with area.expander(f"{t.id}: {t.title}"):
            st.markdown(f'<a id="{t.anchor}"></a>', unsafe_allow_html=True)
            st.markdown("\n".join([f"- **Requires:** {md('; '.join(t.requires))}",
                                   f"- **Attack:** {md(t.description)}",
                                   f"- **Remediation:** {md(t.remediation)}",
                                   f"- **References:** {md(reference_text(t))}"]))

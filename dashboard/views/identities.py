"""Identity explorer (blast radius): pick an identity or credential, see every privileged target
it can reach and by which path."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.context import Context
from dashboard.path_views import blast_radius
from dashboard.views.common import open_picture_button, show_picture
from dashboard.views.explorer_common import pick_node

NODE_KEY = "identity_node"


def render(ctx: Context) -> None:
    st.header("Identity explorer: blast radius")
    st.caption("Every privileged target (production or sensitive, or admin over a whole scope) the identity "
               "or credential can write or administer, through group membership, role assumption, "
               "impersonation, federation and secrets, with the shortest path to each.")
    node_id = pick_node(ctx.nodes("Identity", "Credential"), "identity or credential", NODE_KEY)
    if node_id is None:
        return
    rows = blast_radius(ctx.engine(), node_id)
    if not rows:
        st.success("No privileged write or admin is reachable from here.")
        return
    without_mfa = sum(not row["mfa_on_every_path"] for row in rows)
    st.markdown(f"**{len(rows)}** privileged target(s) reachable; **{without_mfa}** of them without MFA on "
                "some path.")
    table = pd.DataFrame([{k: v for k, v in row.items() if k != "picture"} for row in rows])
    st.dataframe(table, hide_index=True, width="stretch")
    labels = {index: f"{row['level']} {row['target']} ({row['provider']} {row['kind']}, {row['hops']} hops)"
              for index, row in enumerate(rows[:500])}
    # One selector per node: a selector that keeps its key while its options change can show a stale label.
    index = st.selectbox("Show the path to", list(labels), format_func=labels.get,
                         key=f"identity_target:{node_id}")
    picture = rows[index]["picture"]
    show_picture(picture)
    open_picture_button(picture, key="identity_open_path")

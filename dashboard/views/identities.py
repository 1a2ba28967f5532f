"""Identity explorer (blast radius): pick an identity or credential, see every privileged target
it can reach and by which path."""

from __future__ import annotations

import streamlit as st

from dashboard.context import Context
from dashboard.path_views import blast_radius
from dashboard.views.explorer_common import pick_node, table_with_paths

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
    table_with_paths(rows, lambda row: f"{row['level']} {row['target']} ({row['provider']} {row['kind']}, "
                     f"{row['hops']} hops)", "Show the path to", key=f"identity_target:{node_id}",
                     button_key="identity_open_path")

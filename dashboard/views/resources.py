"""Resource explorer (who can write): pick a resource, see every entry that can write or
administer it, with the MFA and key status of each."""

from __future__ import annotations

import streamlit as st

from dashboard.context import Context
from dashboard.views.explorer_common import pick_node, table_with_paths

NODE_KEY = "resource_node"


def render(ctx: Context) -> None:
    st.header("Resource explorer: who can write")
    st.caption("Every entry (a credential, or a person's interactive sign-in) that reaches write or admin on "
               "the resource, directly or through groups, roles, federation and secrets. Write or admin over a "
               "scope that contains it (account, subscription, project, folder, cluster, namespace, server) is "
               "write on it: `through` names that scope. Rows without MFA on every path come first.")
    node_id = pick_node(ctx.nodes("Resource"), "resource", NODE_KEY)
    if node_id is None:
        return
    rows = ctx.write_access().who_can_write(node_id)
    if not rows:
        st.success("No entry can write or administer this resource.")
        return
    without_mfa = sum(not row["mfa_on_every_path"] for row in rows)
    long_lived = sum(row["long_lived_key"] for row in rows)
    through = sum(bool(row["through"]) for row in rows)
    st.markdown(f"**{len(rows)}** entr{'y' if len(rows) == 1 else 'ies'} can write it ({through} through a scope "
                f"that contains it); **{without_mfa}** without MFA on some path; **{long_lived}** long-lived key(s).")
    table_with_paths(rows, lambda row: f"{row['entry']} ({row['provider']} {row['entry_kind']}, {row['hops']} hops)",
                     "Show the path from", key=f"resource_entry:{node_id}",
                     button_key="resource_open_path")

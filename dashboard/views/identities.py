"""Identity explorer (blast radius): pick an identity or credential, or a person (by email or name:
every identity of theirs), see every privileged target it can reach and by which path."""

from __future__ import annotations

import streamlit as st

from dashboard.context import Context
from dashboard.path_views import blast_radius
from dashboard.views.explorer_common import pick_node, table_with_paths

NODE_KEY = "identity_node"


def _top_entry(ctx: Context) -> str | None:
    """The entry of the top open finding: where the analyst's question most likely starts."""
    frame = ctx.findings()
    top = frame[frame["status"] == "open"].head(1) if not frame.empty else frame
    finding = ctx.finding(top["id"].iloc[0]) if not top.empty else None
    return finding.entry.get("id") if finding is not None else None


def render(ctx: Context) -> None:
    st.header("Identity explorer: blast radius")
    st.caption("Every privileged target (production or sensitive, or admin over a whole scope) the identity "
               "or credential can write or administer, through group membership, role assumption, "
               "impersonation, federation and secrets, with the shortest path to each. A person (found by "
               "email or name) is every identity of theirs.")
    people = ctx.people()
    node_id = pick_node(ctx.nodes("Identity", "Credential", "Person"), "identity, credential or person", NODE_KEY,
                        lookup=people.lookup, default=_top_entry(ctx),
                        search_label="Search by name or email (a person, an identity or a credential), or by id")
    if node_id is None:
        return
    identities = people.identities_of(node_id) if people.is_person(node_id) else None
    if identities is not None:
        names = ", ".join(f"{ctx.graph.nodes[i].get('name') or i} ({ctx.graph.nodes[i].get('provider', '')})"
                          for i in identities)
        st.markdown(f"Person **{ctx.graph.nodes[node_id].get('email', node_id)}**: {len(identities)} "
                    f"identit{'y' if len(identities) == 1 else 'ies'}: {names}. Each row names the identity "
                    "that reaches the target.")
    rows = blast_radius(ctx.engine(), node_id, identities)
    if not rows:
        st.success("No privileged write or admin is reachable from here.")
        return
    without_mfa = sum(not row["mfa_on_every_path"] for row in rows)
    st.markdown(f"**{len(rows)}** privileged target(s) reachable; **{without_mfa}** of them without MFA on "
                "some path.")
    table_with_paths(rows, lambda row: f"{row['level']} {row['target']} ({row['provider']} {row['kind']}, "
                     f"{row['hops']} hops)" + (f" by {row['identity']}" if identities else ""),
                     "Show the path to", key=f"identity_target:{node_id}", button_key="identity_open_path")

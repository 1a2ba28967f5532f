"""Looking identities up as an analyst names them: by node id, by a person's email, or by a name.

`crosspath blast-radius` and the dashboard's Identity explorer share these rules:

1. a node id names that node;
2. an email or UPN names the Person with that email (graph.builder's correlation), else the nodes
   that carry that email or are named by it (a GCP service account, a database login);
3. anything else is a name, matched whole and case-insensitively against the names of people,
   identities and credentials.

An identity that belongs to a Person stands for that Person, so "Dana Ruiz" (her Entra account's
name) names the same Person as dana.ruiz@lumenfreight.com. A Person's blast radius is the union of
its identities', each row naming the identity that reaches the target.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from graph.schema import EdgeKind, Family, email_address, person_id
from queries.paths import PathEngine

LOOKUP_FAMILIES = frozenset({str(Family.PERSON), str(Family.IDENTITY), str(Family.CREDENTIAL)})


def name_key(text: str) -> str:
    """How names compare: whole, any case, runs of white space as one space."""
    return " ".join(str(text).split()).casefold()


class People:
    """The graph's people, names and emails, indexed once (a dict lookup per question afterwards)."""

    def __init__(self, graph: nx.MultiDiGraph):
        self.graph = graph
        self._named: dict[str, set[str]] = {}  # name_key(name) or normalised email -> node ids
        self._accounts: dict[str, list[str]] = {}  # Person -> its identities
        self._person_of: dict[str, str] = {}  # identity -> its Person
        for node_id, data in graph.nodes(data=True):
            if data.get("family") not in LOOKUP_FAMILIES:
                continue
            keys = {name_key(data.get("name") or "")}
            keys |= {email for email in (email_address(data.get("email")), email_address(data.get("name"))) if email}
            for key in keys - {""}:
                self._named.setdefault(key, set()).add(node_id)
            if data.get("family") == Family.PERSON:
                accounts = sorted({u for u, _, kind in graph.in_edges(node_id, data="kind")
                                   if kind == EdgeKind.BELONGS_TO})
                self._accounts[node_id] = accounts
                self._person_of.update(dict.fromkeys(accounts, node_id))

    def lookup(self, text: str) -> list[str]:
        """The nodes `text` names (module docstring), identities replaced by their Person: none (unknown),
        one, or several (ambiguous: the caller lists them)."""
        text = text.strip()
        if text in self.graph:
            return [text]
        email = email_address(text)
        if email is not None and person_id(email) in self.graph:
            return [person_id(email)]
        found = self._named.get(email, set()) if email is not None else set()
        found = found or self._named.get(name_key(text), set())
        return sorted({self._person_of.get(node_id, node_id) for node_id in found})

    def is_person(self, node_id: str) -> bool:
        return node_id in self._accounts

    def identities_of(self, node_id: str) -> list[str]:
        """A Person's identities (sorted); any other node stands for itself."""
        return list(self._accounts.get(node_id, [node_id]))

    def label(self, node_id: str) -> str:
        """`id  name (provider kind)`, how candidates are listed."""
        data = self.graph.nodes[node_id]
        what = "person" if self.is_person(node_id) else f"{data.get('provider', '')} {data.get('kind', '')}"
        return f"{node_id}  {data.get('name') or node_id} ({what})"


def blast_radius_of(engine: PathEngine, identities: list[str]) -> list[dict[str, Any]]:
    """Every privileged target any of `identities` reaches (PathEngine.blast_radius rows), each with
    `identity`: the one that reaches it. A target two identities reach is listed for each; shortest
    path first, then target, then identity."""
    rows = [{**item, "identity": identity} for identity in identities for item in engine.blast_radius(identity)]
    return sorted(rows, key=lambda row: (len(row["path"]), row["target"], row["identity"]))

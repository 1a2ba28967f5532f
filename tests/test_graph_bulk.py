"""graph.bulk.Graph.add_owned_edges builds the graph networkx's own add_edges_from builds."""

import networkx as nx

from graph.bulk import Graph, copy_graph


def _edges():
    return [
        ("a", "b", "MEMBER_OF|x", {"kind": "MEMBER_OF", "via": "x"}),
        ("a", "b", "CAN_ASSUME|y", {"kind": "CAN_ASSUME", "via": "y"}),  # a second edge between the same pair
        ("b", "a", "MEMBER_OF|x", {"kind": "MEMBER_OF", "via": "x"}),
        ("c", "c", "CAN_ASSUME|self", {"kind": "CAN_ASSUME", "via": "self"}),  # a self-loop
        ("a", "b", "MEMBER_OF|x", {"mfa": True}),  # a repeated key updates the edge
        ("a", "new", "MEMBER_OF|z", {"kind": "MEMBER_OF", "via": "z"}),  # an endpoint that is not yet a node
    ]


def _graph():
    graph = Graph()
    graph.add_nodes_from([("a", {"id": "a"}), ("b", {"id": "b"}), ("c", {"id": "c"})])
    return graph


def test_the_same_graph_as_add_edges_from():
    expected, built = nx.MultiDiGraph(), _graph()
    expected.add_nodes_from(built.nodes(data=True))
    expected.add_edges_from(_edges())
    built.add_owned_edges(_edges())
    assert list(built.nodes(data=True)) == list(expected.nodes(data=True))
    assert list(built.edges(keys=True, data=True)) == list(expected.edges(keys=True, data=True))
    assert list(built.in_edges("b", keys=True, data=True)) == list(expected.in_edges("b", keys=True, data=True))
    assert built.number_of_edges() == expected.number_of_edges() == 5
    assert built["a"]["b"]["MEMBER_OF|x"] == {"kind": "MEMBER_OF", "via": "x", "mfa": True}


def test_an_edge_removed_after_a_bulk_add_is_gone_both_ways():
    graph = _graph()
    graph.add_owned_edges(_edges())
    graph.remove_edge("a", "b", key="CAN_ASSUME|y")
    assert not graph.has_edge("a", "b", key="CAN_ASSUME|y")
    assert ("a", "b", "CAN_ASSUME|y") not in set(graph.in_edges("b", keys=True))


def test_a_cached_view_sees_the_new_edges():
    graph = _graph()
    assert graph.number_of_edges() == 0
    _ = graph.edges  # networkx caches its views: adding edges must not leave a stale one
    graph.add_owned_edges(_edges())
    assert len(graph.edges) == 5


def test_a_copy_is_the_graph_networkx_copies_and_changes_apart_from_it():
    graph = _graph()
    graph.graph["name"] = "org"
    graph.add_owned_edges(_edges())
    copy = copy_graph(graph)
    assert list(copy.nodes(data=True)) == list(graph.copy().nodes(data=True))
    assert list(copy.edges(keys=True, data=True)) == list(graph.copy().edges(keys=True, data=True))
    assert copy.graph == {"name": "org"}
    copy["a"]["b"]["MEMBER_OF|x"]["mfa"] = False
    copy.nodes["a"]["id"] = "changed"
    copy.remove_edge("b", "a", key="MEMBER_OF|x")
    assert graph["a"]["b"]["MEMBER_OF|x"]["mfa"] is True and graph.nodes["a"]["id"] == "a"
    assert graph.has_edge("b", "a", key="MEMBER_OF|x")

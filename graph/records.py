"""Records: the only contract between collectors and the graph.

A record is a plain dict. A node has the keys in ``schema.NODE_KEYS`` plus free
properties; an edge has ``source``, ``target``, ``kind``, ``via`` plus free
properties. Property values must be JSON primitives or lists of them, so that
snapshots, Neo4j and BloodHound OpenGraph can all hold them.

``validate_records`` checks records on their way into the graph: a bad record
is rejected with a ``RecordError`` naming the source, the file, the record and
the field, and every other record still loads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from math import isfinite
from operator import itemgetter
from typing import Any

from graph.schema import (
    CREDENTIAL_KINDS,
    EDGE_ENDPOINTS,
    ENVIRONMENTS,
    IDENTITY_KINDS,
    LEVELS,
    PERSON_KINDS,
    EdgeKind,
    Family,
    Provider,
)

Record = dict[str, Any]

_PRIMITIVES = (str, int, float, bool, type(None))
# Exact types passed at once (numbers are checked: finite, 64-bit); a subclass (an enum member) goes to isinstance.
_EXACT_PRIMITIVES = frozenset({str, bool, type(None)})
_PLAIN_ITEMS = frozenset({str, bool})  # list items passed at once (no None; numbers are checked)
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 63) - 1
_KIND_SETS = {
    Family.IDENTITY.value: IDENTITY_KINDS,
    Family.CREDENTIAL.value: CREDENTIAL_KINDS,
    Family.PERSON.value: PERSON_KINDS,
}
_TRISTATE_PROPS = ("mfa", "mfa_required", "human", "long_lived", "enabled")
# The vocabulary by its text: a record holds strings, and looking a string up here costs a dict probe
# where constructing the enum (Family(text)) costs a call through the enum machinery, millions of times.
_FAMILIES = {family.value: family for family in Family}
_PROVIDERS = {provider.value: provider for provider in Provider}
_EDGE_KINDS = {kind.value: kind for kind in EdgeKind}
_FAMILY_NAMES = [family.value for family in Family]
_PROVIDER_NAMES = [provider.value for provider in Provider]
_EDGE_KIND_NAMES = [kind.value for kind in EdgeKind]
_NODE_RESERVED = frozenset(("id", "family", "kind", "provider", "name", "scope"))
_PLAIN_TYPES = frozenset({str, bool, type(None), int, float, list})  # property values passed a column at a time
_PLAIN_ITEM_TYPES = frozenset({str, bool, int, float})
_TRISTATE_TYPES = frozenset({bool, type(None)})
_PERMISSION = EdgeKind.HAS_PERMISSION.value
_LEVEL_SET = frozenset(LEVELS)
_ENVIRONMENT_SET = frozenset(ENVIRONMENTS)
_PERSON, _RESOURCE, _IDENTITY = Family.PERSON.value, Family.RESOURCE.value, Family.IDENTITY.value
_EDGE_RESERVED = frozenset(("source", "target", "kind", "via"))


@dataclass(frozen=True)
class RecordError:
    """One rejected record or unreadable input, explained for a person."""

    source: str
    file: str
    record: str
    field: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.source}: {self.file}"
        if self.record:
            where += f": record {self.record}"
        if self.field:
            where += f": field '{self.field}'"
        text = f"{where}: {self.message}"
        return f"{text} (fix: {self.fix})" if self.fix else text

    def to_dict(self) -> dict[str, str]:
        return {
            "source": self.source,
            "file": self.file,
            "record": self.record,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass
class RecordOrigin:
    """Where a batch of records came from, for error messages."""

    source: str
    file: str = ""


def node(
    id: str,
    family: Family | str,
    kind: str,
    provider: Provider | str,
    name: str,
    scope: str,
    **properties: Any,
) -> Record:
    """Build a node record; properties whose value is None are kept (None = unknown)."""
    return {
        "id": id,
        "family": str(family),
        "kind": kind,
        "provider": str(provider),
        "name": name,
        "scope": scope,
        **properties,
    }


def edge(source: str, target: str, kind: EdgeKind | str, via: str, **properties: Any) -> Record:
    """Build an edge record. `via` names the policy, binding or grant that creates it."""
    return {"source": source, "target": target, "kind": str(kind), "via": via, **properties}


@dataclass
class ValidatedRecords:
    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)


def _label(record: Any, index: int, keys: tuple[str, ...]) -> str:
    if isinstance(record, dict):
        for key in keys:
            value = record.get(key)
            if isinstance(value, str) and value:
                return f"#{index} ({value})"
    return f"#{index}"


def _number_problem(value: Any) -> str | None:
    """JSON has no NaN or infinity, and snapshots, Neo4j and OpenGraph hold 64-bit integers."""
    if type(value) is float and not isfinite(value):
        return f"{value!r} is not a JSON number"
    if type(value) is int and not _INT_MIN <= value <= _INT_MAX:
        return f"{value} does not fit in 64 bits"
    return None


def _check_properties(record: Record, reserved: frozenset[str]) -> tuple[str, str, str] | None:
    # Exact type checks first: a million records are mostly plain str/bool values and lists of str, and
    # a type lookup in a set is the cheapest test Python has; isinstance decides the rest (a subclass).
    exact = _EXACT_PRIMITIVES
    for key, value in record.items():
        if type(key) is not str or not key:
            if key in reserved or (isinstance(key, str) and key):
                pass  # a str subclass (an enum member) is a name too
            else:
                return (str(key), "property names must be non-empty strings", "rename the property")
        kind = type(value)
        if kind in exact:
            continue
        if kind is list:
            for item in value:
                if type(item) in _PLAIN_ITEMS:
                    continue
                if (item is None or not isinstance(item, _PRIMITIVES) or _number_problem(item)) and key not in reserved:
                    return (key, "lists may hold only strings, numbers and booleans", "flatten the value")
            continue
        if key in reserved:
            continue
        if isinstance(value, dict):
            return (key, "nested objects are not allowed as properties", "flatten it into keys")
        if not isinstance(value, _PRIMITIVES):
            return (key, f"unsupported value type {type(value).__name__}", "use a JSON primitive")
        problem = _number_problem(value)
        if problem:
            return (key, problem, "emit a finite number (or null when unknown)")
    for key in _TRISTATE_PROPS:
        if key in record and type(record[key]) not in _TRISTATE_TYPES:  # 1 == True, but 1 is not a boolean
            return (key, f"must be true, false or null, got {record[key]!r}", "use a boolean or null")
    return None


def _node_problem(record: Any) -> tuple[str, str, str] | None:
    if not isinstance(record, dict):
        return ("", "a node record must be an object", "emit a dict built with graph.records.node()")
    for key in ("id", "family", "kind", "provider", "name", "scope"):
        value = record.get(key)
        if not isinstance(value, str) or (key != "scope" and not value):
            return (key, "is missing or not a non-empty string", f"set '{key}' on every node")
    family = record["family"]
    if family not in _FAMILIES:
        return ("family", f"unknown family {family!r}", f"use one of {_FAMILY_NAMES}")
    provider = record["provider"]
    if provider not in _PROVIDERS:
        return ("provider", f"unknown provider {provider!r}", f"use one of {_PROVIDER_NAMES}")
    if family != Family.PERSON and not record["id"].startswith(f"{provider}:"):
        return ("id", f"must start with '{provider}:' (provider:native-id)", "prefix the native id")
    kinds = _KIND_SETS.get(family)
    if kinds is not None and record["kind"] not in kinds:
        return ("kind", f"{record['kind']!r} is not a {family} kind", f"use one of {sorted(kinds)}")
    if family == Family.RESOURCE and record.get("environment", "unknown") not in ENVIRONMENTS:
        return ("environment", f"must be one of {ENVIRONMENTS}", "set prod, nonprod or unknown")
    if family == Family.IDENTITY and "human" not in record:
        return ("human", "identities must say whether they are human", "set human to true or false")
    return _check_properties(record, _NODE_RESERVED)


def _edge_problem(record: Any) -> tuple[str, str, str] | None:
    if not isinstance(record, dict):
        return ("", "an edge record must be an object", "emit a dict built with graph.records.edge()")
    for key in ("source", "target", "kind", "via"):
        value = record.get(key)
        if not isinstance(value, str) or not value:
            fix = "name the policy, binding or grant" if key == "via" else f"set '{key}'"
            return (key, "is missing or not a non-empty string", fix)
    kind = record["kind"]
    if kind not in _EDGE_KINDS:
        return ("kind", f"unknown edge kind {kind!r}", f"use one of {_EDGE_KIND_NAMES}")
    if kind == EdgeKind.HAS_PERMISSION and record.get("level") not in LEVELS:
        return ("level", f"HAS_PERMISSION needs level in {LEVELS}", "classify the actions as read/write/admin")
    return _check_properties(record, _EDGE_RESERVED)


def _shape_columns(records: list[Any]) -> list[dict[str, list[Any]]] | None:
    """Records grouped by shape (their keys, in order), each group as columns; None unless every record is
    a plain dict whose keys are non-empty strings."""
    if set(map(type, records)) - {dict}:
        return None
    shapes = list(map(tuple, records))
    distinct = {shape: code for code, shape in enumerate(dict.fromkeys(shapes))}
    if not all(shape and all(type(key) is str and key for key in shape) for shape in distinct):
        return None
    if len(distinct) == 1:
        groups = [(shapes[0], records)] if records else []
    else:  # records in shape order (a stable sort of their shape codes), then sliced per shape
        codes = list(map(distinct.__getitem__, shapes))
        order = sorted(range(len(records)), key=codes.__getitem__)
        counts = Counter(codes)
        groups, start = [], 0
        for shape, code in distinct.items():
            rows = order[start:start + counts[code]]
            start += counts[code]
            groups.append((shape, [records[row] for row in rows]))
    return [{key: list(map(itemgetter(key), group)) for key in shape} for shape, group in groups]


def _plain_properties(columns: dict[str, list[Any]], reserved: frozenset[str]) -> bool:
    """_check_properties passes every record of these columns: strings, booleans, nulls, finite 64-bit
    numbers and lists of those but null, tri-states that are booleans or null. Anything else (a subclass, a
    nested object) is left to the record-by-record check."""
    for key, column in columns.items():
        if key in reserved:
            continue
        kinds = set(map(type, column))
        if key in _TRISTATE_PROPS and kinds - _TRISTATE_TYPES:
            return False
        if kinds - _PLAIN_TYPES or not _numbers_fit(column, kinds):
            return False
        if list in kinds:
            items = list(chain.from_iterable(value for value in column if type(value) is list))
            item_kinds = set(map(type, items))
            if item_kinds - _PLAIN_ITEM_TYPES or not _numbers_fit(items, item_kinds):
                return False
    return True


def _numbers_fit(values: list[Any], kinds: set[type]) -> bool:
    """_number_problem says nothing of any of these values (it looks only at ints and floats)."""
    return not kinds & {int, float} or not any(map(_number_problem, values))


def _all_in(keys: list[Any], values: list[Any], key: str, allowed: frozenset[str]) -> bool:
    """Every value whose key is `key` is a str in `allowed` (checked once per distinct pair)."""
    try:
        pairs = set(zip(keys, values, strict=True))
    except TypeError:  # an unhashable value: the record-by-record check names it
        return False
    return all(type(value) is str and value in allowed for found, value in pairs if found == key)


def _strings(column: list[Any], empty: bool = False) -> bool:
    """Every value a str (a subclass is left to the record-by-record check), non-empty unless `empty`."""
    return set(map(type, column)) <= {str} and (empty or all(column))


def _edges_pass(edges: list[Any]) -> bool:
    """Whether every edge passes _edge_problem, decided a column at a time (True only when certain)."""
    groups = _shape_columns(edges)
    if groups is None:
        return False
    for columns in groups:
        if not all(key in columns and _strings(columns[key]) for key in ("source", "target", "kind", "via")):
            return False
        kinds = set(columns["kind"])
        if not kinds <= _EDGE_KINDS.keys():
            return False
        if _PERMISSION in kinds and ("level" not in columns
                                     or not _all_in(columns["kind"], columns["level"], _PERMISSION, _LEVEL_SET)):
            return False
        if not _plain_properties(columns, _EDGE_RESERVED):
            return False
    return True


def _nodes_pass(nodes: list[Any]) -> bool:
    """Whether every node passes _node_problem, decided a column at a time (True only when certain)."""
    groups = _shape_columns(nodes)
    if groups is None:
        return False
    for columns in groups:
        if not all(key in columns and _strings(columns[key], key == "scope") for key in _NODE_RESERVED):
            return False
        families, providers = columns["family"], columns["provider"]
        if not set(families) <= _FAMILIES.keys() or not set(providers) <= _PROVIDERS.keys():
            return False
        if not all(family == _PERSON or node_id.startswith(f"{provider}:")
                   for node_id, family, provider in zip(columns["id"], families, providers, strict=True)):
            return False
        for family, kind in set(zip(families, columns["kind"], strict=True)):
            kinds = _KIND_SETS.get(family)
            if kinds is not None and kind not in kinds:
                return False
        if "environment" in columns and not _all_in(families, columns["environment"], _RESOURCE, _ENVIRONMENT_SET):
            return False
        if _IDENTITY in families and "human" not in columns:
            return False
        if not _plain_properties(columns, _NODE_RESERVED):
            return False
    return True


def validate_records(
    nodes: Iterable[Any], edges: Iterable[Any], origin: RecordOrigin
) -> ValidatedRecords:
    """Keep the good records, explain the bad ones. Edge endpoints are checked by the builder.

    A batch whose every record passes (what collectors emit, nearly always) is decided a column at a time
    (_nodes_pass, _edges_pass); a batch with any doubt is judged record by record, which names each bad
    record and its first problem."""
    nodes, edges = list(nodes), list(edges)
    if _nodes_pass(nodes) and _edges_pass(edges):
        return ValidatedRecords(nodes, edges)
    return validate_each(nodes, edges, origin)


def validate_each(nodes: Iterable[Any], edges: Iterable[Any], origin: RecordOrigin) -> ValidatedRecords:
    """validate_records, record by record: each bad record with its first problem."""
    result = ValidatedRecords()
    for index, record in enumerate(nodes):
        problem = _node_problem(record)
        if problem is None:
            result.nodes.append(record)
        else:
            field_name, message, fix = problem
            result.errors.append(
                RecordError(origin.source, origin.file, "node " + _label(record, index, ("id",)),
                            field_name, message, fix)
            )
    for index, record in enumerate(edges):
        problem = _edge_problem(record)
        if problem is None:
            result.edges.append(record)
        else:
            field_name, message, fix = problem
            result.errors.append(
                RecordError(origin.source, origin.file, "edge " + _label(record, index, ("via", "source")),
                            field_name, message, fix)
            )
    return result


# (kind, source family, target family) -> why not, or None: every combination, decided once.
_ENDPOINT_PROBLEMS: dict[tuple[str, str, str], str | None] = {}
for _kind, (_sources, _targets) in EDGE_ENDPOINTS.items():
    for _source in Family:
        for _target in Family:
            _ENDPOINT_PROBLEMS[(_kind.value, _source.value, _target.value)] = (
                f"{_kind.value} cannot start at a {_source.value}" if _source not in _sources else
                f"{_kind.value} cannot end at a {_target.value}" if _target not in _targets else None)


def endpoint_problem(kind: str, source_family: str, target_family: str) -> str | None:
    """Why an edge may not join these two families, or None when it may."""
    return _ENDPOINT_PROBLEMS.get((kind, source_family, target_family))

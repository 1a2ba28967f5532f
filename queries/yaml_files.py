"""The files a user writes (the policy, the exceptions): read, parsed and validated in this one place.

Every problem is a ConfigError that names the file, the line and the fix, never a traceback:
bytes that are not UTF-8, YAML syntax, a key written twice, aliases that expand beyond a bound
("billion laughs", refused before any Python structure is built), unknown fields (a typo such as
`exception:` is an error, not silently ignored), a list where one value belongs or the reverse,
impossible dates (`2027-02-30`) and values outside their choices.

The rules of each file are a JSON Schema (checked by jsonschema): `EXCEPTIONS_SCHEMA`, and
`policy_schema(defaults)`, derived from default_policy.yaml so that every field the defaults
name is typed by its default value. docs/reliability.md, "Policy and exceptions files".
"""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from graph.schema import LEVELS
from graph.yaml_files import ConfigError  # one error type for every file the user writes
from queries.findings import GAP_TYPES, SEVERITIES

# Aliases may add at most this many values beyond those the file writes out. A real policy or
# exceptions file needs a handful; a "billion laughs" document asks for 10^9.
MAX_ALIAS_EXPANSION = 100_000
MAX_ERRORS_SHOWN = 10
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_MERGE_TAG = "tag:yaml.org,2002:merge"

Where = tuple[str | int, ...]  # a value's place in the document: mapping keys and list indices


# --- reading and parsing ------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as the text written (the schema checks them, so `2027-02-30` is a
    clear error rather than Python's ValueError) and notes every alias it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_marks: list[tuple[yaml.Mark, str]] = []

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            self.alias_marks.append((event.start_mark, event.anchor))
        return super().compose_node(parent, index)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


@dataclass(frozen=True)
class Document:
    """A parsed file: its data (plain dicts, lists and scalars) and the line of every value."""

    path: Path
    data: Any
    lines: dict[Where, int]

    def line(self, where: Iterable[str | int]) -> int:
        """The line of `where`, or of its nearest parent that has one."""
        key = tuple(where)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key, 1)

    def error(self, where: Iterable[str | int], problem: str, fix: str = "") -> ConfigError:
        return ConfigError(f"{self.path}: line {self.line(where)}: {problem}" + (f"; {fix}" if fix else ""))


def read_document(path: Path, schema: dict[str, Any]) -> Document:
    """Read, parse and validate the file at `path` against `schema`."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read file: {exc.strerror}") from exc
    return parse_document(raw, path, schema)


def parse_document(raw: bytes | str, path: Path, schema: dict[str, Any] | None) -> Document:
    """Parse `raw` (the content of `path`) and, with a schema, validate it; errors name `path`."""
    text = _decode(raw, path) if isinstance(raw, bytes) else raw
    try:
        document = _parse(text, path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        raise ConfigError(f"{path}: invalid YAML at {where}: {exc.problem or exc.context}; check the "
                          "indentation, the quoting and the brackets there") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        character = chr(exc.character) if isinstance(exc.character, int) else exc.character
        raise ConfigError(f"{path}: line {line}: character {character!r} is not allowed in YAML; "
                          "remove it (write it as an escape such as \"\\x1b\" inside double quotes if it "
                          "is meant)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: the YAML is nested too deeply to read; flatten it") from None
    if schema is not None:
        _validate(document, schema)
    return document


def _decode(raw: bytes, path: Path) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{path}: the file is UTF-16; save it as UTF-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{path}: line {line}, column {column}: byte 0x{raw[exc.start]:02x} is not UTF-8 "
                          "text; save the file as UTF-8 (an editor's 'Save with encoding', or "
                          "`iconv -f latin1 -t utf-8`)") from None


def _parse(text: str, path: Path) -> Document:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Document(path, None, {})
        _check_aliases(node, loader.alias_marks, path)
        lines: dict[Where, int] = {}
        _walk(node, (), lines, path)
        return Document(path, loader.construct_document(node), lines)
    finally:
        loader.dispose()


def _check_aliases(root: yaml.Node, aliases: list[tuple[yaml.Mark, str]], path: Path) -> None:
    """Refuse, before anything is built, aliases that refer to themselves or that expand the
    document by more than MAX_ALIAS_EXPANSION values (each node is visited once: linear)."""
    if not aliases:
        return
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            mark = node.start_mark
            raise ConfigError(f"{path}: line {mark.line + 1}: an alias refers to the value that contains it "
                              "(a recursive anchor); write the value out instead")
        open_nodes.add(key)
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(item) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        else:
            total = 1
        open_nodes.discard(key)
        sizes[key] = total
        return total

    expanded = size(root)
    written = len(sizes)
    if expanded - written > MAX_ALIAS_EXPANSION:
        mark, anchor = aliases[0]
        raise ConfigError(
            f"{path}: line {mark.line + 1}: the aliases (*{anchor} and {len(aliases) - 1} more) expand this file "
            f"from {written:,} to {expanded:,} values, more than the {MAX_ALIAS_EXPANSION:,} extra allowed "
            "(a 'billion laughs' document); write the values out instead of repeating anchors")


def _walk(node: yaml.Node, where: Where, lines: dict[Where, int], path: Path) -> None:
    """Record the line of every value; refuse a key written twice in one mapping."""
    lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*where, index), lines, path)
    elif isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *defaults`: its keys, where they are written
                for merged in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                    _walk(merged, where, lines, path)
                continue
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"{path}: line {line}: field {_dotted((*where, key))!r} is written twice (first at line "
                    f"{seen[key]}); YAML would keep only the last one, so merge the two into one")
            seen[key] = line
            lines[(*where, key)] = line
            _walk(value_node, (*where, key), lines, path)


# --- validation -----------------------------------------------------------------------------------


def as_date(value: Any) -> date:
    """A date written as YYYY-MM-DD (or a date and time, of which the date counts). ValueError else."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise TypeError(f"not a date: {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        return datetime.fromisoformat(value).date()


_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date", raises=ValueError)
def _is_date(value: Any) -> bool:
    if isinstance(value, str):  # other types are the "type" rule's to refuse
        as_date(value)
    return True


def _validate(document: Document, schema: dict[str, Any]) -> None:
    validator = Draft202012Validator(schema, format_checker=_FORMATS)
    messages = sorted({_message(document, schema, error) for error in validator.iter_errors(document.data)},
                      key=lambda item: item[0])
    if not messages:
        return
    shown = [text for _, text in messages[:MAX_ERRORS_SHOWN]]
    if len(messages) > MAX_ERRORS_SHOWN:
        shown.append(f"... and {len(messages) - MAX_ERRORS_SHOWN} more problem(s)")
    raise ConfigError("\n".join(shown))


def _place(document: Document, schema: dict[str, Any], absolute: Iterable[Any]
           ) -> tuple[Where, Where, str, list[dict[str, Any]]]:
    """(where in the document, where inside the labelled item, the item's label, the schemas along
    the way): the error's path with mapping keys as text, and e.g. ("exception #2", ("owner",))."""
    where: list[str | int] = []
    inner: list[str | int] = []
    label = ""
    schemas = [schema]
    value = document.data
    for step in absolute:
        current = schemas[-1]
        if isinstance(value, dict):
            key = str(step)
            where.append(key)
            inner.append(key)
            value = value.get(step)
            properties = current.get("properties", {})
            nxt = properties[key] if key in properties else current.get("additionalProperties")
        else:
            where.append(int(step))
            value = value[step] if isinstance(value, list) and step < len(value) else None
            nxt = current.get("items")
            if isinstance(nxt, dict) and "x-label" in nxt:
                label = f"{nxt['x-label']} #{int(step) + 1}"
                inner = []
            else:
                inner.append(int(step))
        schemas.append(nxt if isinstance(nxt, dict) else {})
    return tuple(where), tuple(inner), label, schemas


def _message(document: Document, schema: dict[str, Any], error: ValidationError) -> tuple[tuple[int, str], str]:
    where, inner, label, schemas = _place(document, schema, error.absolute_path)
    own, parent = schemas[-1], (schemas[-2] if len(schemas) > 1 else {})
    field = _dotted(inner)
    problem, fix = _problem(error, field, own, parent, inner)
    key = where
    if error.validator == "additionalProperties":
        unknown = sorted(str(k) for k in error.instance if str(k) not in own.get("properties", {}))
        key = (*where, unknown[0]) if unknown else where
    line = document.line(key)
    head = f"{document.path}: {label} (line {line})" if label else f"{document.path}: line {line}"
    text = f"{head}: {problem}" + (f"; {fix}" if fix else "")
    return (line, text), text


def _problem(error: ValidationError, field: str, own: dict[str, Any], parent: dict[str, Any],
             inner: Where) -> tuple[str, str]:
    kind, value = error.validator, error.instance
    name = f"field {field!r}" if field else "the file"
    if "x-message" in own and kind in ("anyOf", "pattern", "minProperties"):
        return own["x-message"], own.get("x-fix", "")
    if kind == "additionalProperties":
        allowed = sorted(own.get("properties", {}))
        problems = []
        for key in sorted(str(k) for k in value if str(k) not in allowed):
            dotted = _dotted((*inner, key))
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            problems.append(f"unknown field {dotted!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        return "; ".join(problems), f"allowed here: {', '.join(allowed)} (an unknown field is never ignored)"
    if kind == "required":
        missing = error.message.split("'")[1]
        return f"{_field((*inner, missing))} is required", own.get("x-required-fix", "")
    blank = value is None or (isinstance(value, str) and not value.strip())
    if blank and inner and inner[-1] in parent.get("required", ()):
        return f"{name} is required", parent.get("x-required-fix", "")
    if kind == "format" and own.get("format") == "date":
        return f"{name} must be a date like 2027-06-30, got {_shown(value)}", _date_fix(value)
    if kind == "type":
        expected = _expected(own)
        return f"{name} must be {expected}, got {_shown(value)}", _type_fix(field, own, value)
    if kind == "enum":
        return (f"{name} must be one of {', '.join(map(str, own['enum']))}, got {_shown(value)}",
                "pick one of those (spelling and case matter)")
    if kind == "minimum":
        return f"{name} must be a whole number >= {own['minimum']}, got {_shown(value)}", ""
    return f"{name}: {error.message}", ""


def _types(schema: dict[str, Any]) -> list[str]:
    types = schema.get("type")
    return [types] if isinstance(types, str) else list(types or [])


def _expected(schema: dict[str, Any]) -> str:
    if schema.get("format") == "date":
        return "a date like 2027-06-30"
    types = _types(schema)
    if "array" in types:
        return "a list"
    if "object" in types:
        return "a mapping of fields"
    if "boolean" in types:
        return "true or false"
    if "integer" in types:
        return f"a whole number >= {schema.get('minimum', 0)}"
    return "one value (text)"


def _type_fix(field: str, schema: dict[str, Any], value: Any) -> str:
    leaf = field.rsplit(".", 1)[-1] or "field"
    types = _types(schema)
    example = schema.get("x-example")
    if "array" in types:
        return f"write a list, e.g. {leaf}: [{_flow(value) if value is not None else '...'}]"
    if "object" in types:
        return f"write the fields under {leaf}:, indented" if field else "start the file with its fields"
    if "boolean" in types:
        return f"write {leaf}: true or {leaf}: false, without quotes"
    if isinstance(value, list):
        return f"write one value, not a list, e.g. {leaf}: {example or _flow(value[0] if value else '...')}"
    if isinstance(value, dict):
        return f"write one value on the same line, e.g. {leaf}: {example or '...'}"
    return f"e.g. {leaf}: {example}" if example else ""


def _date_fix(value: Any) -> str:
    found = _DATE.match(str(value))
    if found:
        year, month, day = (int(part) for part in found.groups())
        if 1 <= month <= 12 and day > calendar.monthrange(year, month)[1]:
            return (f"{calendar.month_name[month]} {year} has {calendar.monthrange(year, month)[1]} days; "
                    "write a day that exists")
        if not 1 <= month <= 12:
            return "the month comes second and is 01 to 12 (YYYY-MM-DD)"
    return "write it as YYYY-MM-DD"


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def _shown(value: Any) -> str:
    """The offending value as the message shows it: short, control characters escaped (repr)."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _dotted(where: Iterable[str | int]) -> str:
    text = ""
    for step in where:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _field(where: Iterable[str | int]) -> str:
    return f"field {_dotted(where)!r}"


# --- the two files' rules --------------------------------------------------------------------------

_TEXT: dict[str, Any] = {"type": ["string", "number"]}  # a number written bare (an id, 2026001) is read as text
_REQUIRED_TEXT: dict[str, Any] = {"type": ["string", "number"], "pattern": r"\S"}
_NOTES = {"description": "Free text for the file's readers; not read by Crosspath."}

EXCEPTIONS_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {
        "exceptions": {
            "type": ["array", "null"],
            "items": {
                "x-label": "exception",
                "type": "object",
                "additionalProperties": False,
                "required": ["owner", "justification", "expires"],
                "x-required-fix": "every exception needs an owner, a justification and an expiry date",
                "properties": {
                    "id": {**_TEXT, "x-example": "EX-2026-003"},
                    "finding": {"type": ["string"], "pattern": r"^[^*?\[\]]+$", "x-example": "CP-0123456789ab",
                                "x-message": "field 'finding' is one exact finding id (CP-...), not a pattern",
                                "x-fix": "to cover several findings, use match: {entry: ..., target: ...} "
                                         "with * patterns"},
                    "match": {
                        "type": "object",
                        "additionalProperties": False,
                        "minProperties": 1,
                        "x-message": "field 'match' is empty",
                        "x-fix": "give at least one of entry, gap_type and target",
                        "properties": {
                            "entry": {**_TEXT, "x-example": "'entra:a1000000-*'"},
                            "gap_type": {"enum": list(GAP_TYPES)},
                            "target": {**_TEXT, "x-example": "'aws:arn:aws:s3:::lumen-prod-*'"},
                        },
                    },
                    "owner": {**_REQUIRED_TEXT, "x-example": "it-security"},
                    "justification": {**_REQUIRED_TEXT, "x-example": "Break-glass account, monitored by the SOC."},
                    "expires": {"type": "string", "format": "date", "x-example": "2027-06-30"},
                    "created": {"type": "string", "format": "date", "x-example": "2026-07-01"},
                    "approved_by": {**_REQUIRED_TEXT, "x-example": "ciso@example.com"},
                    "approved_at": {"type": "string", "format": "date", "x-example": "2026-07-02"},
                    "review_by": {"type": "string", "format": "date", "x-example": "2027-01-15"},
                    "ticket": {"type": "string", "pattern": r"^https?://\S+$",
                               "x-example": "https://jira.example.com/browse/SEC-42",
                               "x-message": "field 'ticket' is a link (http:// or https://)",
                               "x-fix": "write the ticket's address, e.g. https://jira.example.com/browse/SEC-42"},
                    "broad": {"type": "boolean"},
                },
                "anyOf": [{"required": ["finding"]}, {"required": ["match"]}],
                "x-message": "give a scope: 'finding: CP-...' or 'match: {entry: ..., gap_type: ..., target: ...}'",
            },
        },
        "notes": _NOTES,
    },
    "additionalProperties": False,
}

# Fields of the policy whose value is one of a few words, or whose keys are the user's own.
_POLICY_CHOICES: dict[Where, dict[str, Any]] = {
    ("rules", "require_mfa", "applies_to"): {"enum": ["human", "all"]},
    ("privileged", "levels"): {"type": "array", "items": {"enum": list(LEVELS)}},
    ("privileged", "environments"): {"type": "array", "items": {"enum": ["prod", "nonprod", "unknown"]}},
    **{("severity", key): {"enum": list(SEVERITIES)} for key in ("scope_admin", "admin", "write")},
    ("owners", "rules"): {"type": "array", "items": {
        "type": "object", "additionalProperties": False, "required": ["team"], "minProperties": 2,
        "x-message": "an owners rule needs a team and at least one of entry, target and name",
        "properties": {"entry": _TEXT, "target": _TEXT, "name": _TEXT, "team": _REQUIRED_TEXT}}},
}
_FREE_MAPS = {"tags"}  # {tag key: [values]}: any key


def policy_schema(defaults: dict[str, Any]) -> dict[str, Any]:
    """The policy's rules: every field the defaults name, typed by its default value (a list stays a
    list, a number a whole number >= 0, true / false a boolean), plus the fixed choices above."""
    schema = _schema_of(defaults, ())
    schema["type"] = ["object", "null"]
    schema["properties"]["notes"] = _NOTES
    return schema


def _schema_of(value: Any, where: Where) -> dict[str, Any]:
    if where in _POLICY_CHOICES:
        return dict(_POLICY_CHOICES[where])
    if where and where[-1] in _FREE_MAPS:
        return {"type": "object", "additionalProperties": {"type": "array", "items": _TEXT}}
    if isinstance(value, dict):
        return {"type": "object", "additionalProperties": False,
                "properties": {key: _schema_of(item, (*where, key)) for key, item in value.items()}}
    if isinstance(value, list):
        return {"type": "array", "items": _schema_of(value[0], (*where, 0)) if value else _TEXT,
                "x-example": _flow(value[:3])}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer", "minimum": 0, "x-example": value}
    return {**_TEXT, "x-example": _flow(value)}

"""The Cypher query library: one documented file per question in queries/cypher/.

A file starts with `//` header lines, then the query::

    // title: Who can write a resource
    // description: ... (continuation lines are indented)
    // param resource: string -- id of the resource
    // param max_age_days: int = 90 -- a parameter with a default
    // finding: NO_MFA            (the path-engine finding type the query answers, if any)
    MATCH ...

`name.cypher` runs on both stores; where the dialects differ (shortest paths), `name.lbug.cypher` and
`name.neo4j.cypher` sit side by side and each store picks its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LIBRARY_DIR = Path(__file__).with_name("cypher")
STORES = ("lbug", "neo4j")
_PARAM = re.compile(r"^(?P<name>\w+):\s*(?P<type>string|int|float|bool)(?:\s*=\s*(?P<default>\S+))?"
                    r"(?:\s*--\s*(?P<help>.*))?$")
_TYPES = {"string": str, "int": int, "float": float, "bool": lambda v: str(v).lower() in ("1", "true", "yes")}


class LibraryError(Exception):
    """A library file or a call to it that cannot be used; the message says which and how to fix it."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: Any = None
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class LibraryQuery:
    name: str
    title: str
    description: str
    texts: dict[str, str]  # store -> query text
    parameters: tuple[Parameter, ...] = ()
    finding: str | None = None
    files: tuple[str, ...] = field(default=())

    def text(self, store: str = "lbug") -> str:
        if store not in self.texts:
            raise LibraryError(f"library query {self.name!r} has no variant for store {store!r}")
        return self.texts[store]

    def bind(self, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """Parameters for a run: given values converted to their declared types, defaults filled in."""
        given = dict(given or {})
        unknown = set(given) - {p.name for p in self.parameters}
        if unknown:
            raise LibraryError(f"query {self.name!r} has no parameter(s) {sorted(unknown)}; "
                               f"it takes: {', '.join(p.name for p in self.parameters) or 'none'}")
        bound = {}
        for parameter in self.parameters:
            value = given.get(parameter.name, parameter.default)
            if value is None:
                raise LibraryError(f"query {self.name!r} needs parameter {parameter.name!r} ({parameter.help}); "
                                   f"pass --param {parameter.name}=VALUE")
            try:
                bound[parameter.name] = _TYPES[parameter.type](value)
            except ValueError:
                raise LibraryError(f"query {self.name!r}: parameter {parameter.name!r} must be "
                                   f"{parameter.type}, got {value!r}") from None
        return bound


def _parse(path: Path) -> tuple[dict[str, Any], str]:
    header: dict[str, Any] = {"params": []}
    body: list[str] = []
    last_key = None
    for line in path.read_text().splitlines():
        if not body and line.startswith("//"):
            content = line[2:].strip()
            key, sep, value = content.partition(":")
            if line.startswith("//   ") and last_key == "description":
                header["description"] += " " + content
            elif key.startswith("param ") and sep:
                match = _PARAM.match(f"{key[6:].strip()}:{value}")
                if not match:
                    raise LibraryError(f"{path}: bad parameter line {line!r}; write "
                                       "'// param name: string|int|float|bool [= default] -- help'")
                default = match["default"]
                header["params"].append(Parameter(match["name"], match["type"],
                                                  _TYPES[match["type"]](default) if default else None,
                                                  (match["help"] or "").strip()))
            elif sep and key in ("title", "description", "finding"):
                header[key] = value.strip()
                last_key = key
            continue
        body.append(line)
    text = "\n".join(body).strip()
    if not text or "title" not in header:
        raise LibraryError(f"{path}: a library file needs a '// title:' line and a query")
    return header, text


def load_library(folder: Path = LIBRARY_DIR) -> dict[str, LibraryQuery]:
    parsed: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.cypher")):
        stem = path.name.removesuffix(".cypher")
        name, _, store = stem.partition(".")
        if store and store not in STORES:
            raise LibraryError(f"{path}: unknown store variant {store!r}; use one of {STORES}")
        header, text = _parse(path)
        entry = parsed.setdefault(name, {"header": header, "texts": {}, "files": []})
        for variant in ([store] if store else STORES):
            entry["texts"][variant] = text
        entry["files"].append(path.name)
    library = {}
    for name, entry in parsed.items():
        header = entry["header"]
        library[name] = LibraryQuery(
            name=name, title=header["title"], description=header.get("description", ""),
            texts=entry["texts"], parameters=tuple(header["params"]), finding=header.get("finding"),
            files=tuple(entry["files"]),
        )
    return library

"""`identities.yaml`: which person an identity belongs to, where names cannot say.

The builder joins every human account that carries an email (an Entra UPN, an AWS email tag, a
Google account, a database login named by an email) to one Person by that email. Some accounts
carry none (`postgres:orders-prod/role/druiz`, an IAM user called `dana`); this file names their
person::

    people:
      - email: dana.ruiz@lumenfreight.com     # the Person: person:dana.ruiz@lumenfreight.com
        name: Dana Ruiz                       # optional display name of the Person
        identities:                           # node ids, as in the snapshot (docs/records.md)
          - postgres:orders-prod/role/druiz
          - aws:arn:aws:iam::111111111111:user/dana

A listed identity belongs to that person only (the file wins over an email the account carries).
The file is checked before any collection: unknown fields, an email that is not one, an email or an
identity listed twice are errors naming the file, the line and the fix. An identity id the graph does
not hold is not an error (the source may simply not be collected this time): the build's coverage
for `identities` lists those ids in a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.schema import email_address
from graph.yaml_files import ConfigError, line_of, load_yaml

SOURCE = "identities"  # the coverage entry the builder adds when a file is given
_FIELDS = {"email", "name", "identities", "__line__"}
_ALLOWED = sorted(_FIELDS - {"__line__"})
_EXAMPLE = "people: [{email: dana.ruiz@example.com, name: Dana Ruiz, identities: [postgres:srv/role/druiz]}]"


@dataclass(frozen=True)
class MappedPerson:
    email: str  # normalised (graph.schema.normalise_email)
    name: str | None
    identities: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class IdentityMap:
    """The people of one identities file, in file order."""

    path: str
    people: tuple[MappedPerson, ...] = ()

    def owners(self) -> dict[str, MappedPerson]:
        """identity id -> the person it is listed under."""
        return {identity: person for person in self.people for identity in person.identities}


def _person(item: Any, index: int, path: Path) -> MappedPerson:
    where = f"{path}: person #{index + 1} ({line_of(item)})"
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: each person must be a mapping, e.g. {_EXAMPLE}")
    unknown = set(item) - _FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {_ALLOWED}")
    raw_email = item.get("email")
    email = email_address(raw_email)
    if email is None:
        raise ConfigError(f"{where}: field 'email' must be an email address or UPN like dana.ruiz@example.com, "
                          f"got {raw_email!r}")
    name = item.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ConfigError(f"{where}: field 'name' must be the person's display name (text), got {name!r}; "
                          "leave it out to show the email")
    identities = item.get("identities") or []
    if not isinstance(identities, list) or not all(isinstance(i, str) and i.strip() for i in identities):
        raise ConfigError(f"{where}: field 'identities' must be a list of node ids, e.g. "
                          "[\"postgres:orders-prod/role/druiz\", \"aws:arn:aws:iam::111111111111:user/dana\"]")
    unique = tuple(dict.fromkeys(i.strip() for i in identities))
    return MappedPerson(email, name.strip() if name else None, unique, int(item.get("__line__") or 0))


def load_identities(path: Path | None) -> IdentityMap | None:
    """Parse and check an identities file; None when no file is given."""
    if path is None:
        return None
    document = load_yaml(path)
    if document is None:
        return IdentityMap(str(path))
    if not isinstance(document, dict) or set(document) - {"people", "__line__"} \
            or not isinstance(document.get("people", []), list):
        raise ConfigError(f"{path}: expected a mapping with a list under 'people:' and nothing else, "
                          f"e.g. {_EXAMPLE}")
    people = [_person(item, i, path) for i, item in enumerate(document.get("people") or [])]
    by_email: dict[str, MappedPerson] = {}
    owner: dict[str, MappedPerson] = {}
    for number, person in enumerate(people, 1):
        where = f"{path}: person #{number} (line {person.line})"
        first = by_email.setdefault(person.email, person)
        if first is not person:
            raise ConfigError(f"{where}: {person.email} is already listed at line {first.line}; "
                              "merge the two entries into one")
        for identity in person.identities:
            other = owner.setdefault(identity, person)
            if other is not person:
                raise ConfigError(f"{where}: identity {identity!r} is already listed for {other.email} "
                                  f"(line {other.line}); an identity belongs to one person: remove it from one "
                                  "of them")
    return IdentityMap(str(path), tuple(people))

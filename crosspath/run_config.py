"""The `crosspath run` config file (docs/scheduling.md): what to collect or read, where OUT is, the policy,
exceptions and identities files, where a report link points, who is notified, and the gate.

Validated whole, like the policy and exceptions files (queries/yaml_files.py): an unknown field, a wrong
type or an inline secret is a ConfigError naming the file, the line and the fix. Secrets are never in the
file: a webhook URL with a token, a signing secret or a password is `{env: NAME}` or `{file: PATH}`,
resolved when the run needs it (a missing variable or file is an error naming both). Relative paths are
relative to the config file's folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectors import SOURCES
from crosspath.notify.channel_config import KEYS, REQUIRED
from queries.findings import SEVERITIES
from queries.yaml_files import ConfigError, Document, read_document

_TEXT = {"type": "string", "pattern": r"\S"}
_URL_PASSWORD = re.compile(r"://[^/\s:@]*:[^@\s/]+@")  # scheme://user:PASSWORD@host
_LIST = {"type": "array", "items": {"type": ["string", "number"]}}
_REF = {"type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
        "properties": {"env": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}, "file": _TEXT}}


def _secret(label: str) -> dict[str, Any]:
    return {"anyOf": [_REF], "x-message": f"field '{label}' is a secret: it is never written in the file",
            "x-fix": f"write {label}: {{env: NAME}} (an environment variable) or {label}: {{file: /run/secrets/NAME}}"}


_CHANNEL_FIELDS = {
    "kind": {"enum": ["slack", "teams", "webhook", "email"]},
    "teams": _LIST,  # only findings owned by these teams
    "always": {"type": "boolean"},  # send even when nothing is new, reopened or overdue
    "max_findings": {"type": "integer", "minimum": 1},  # per section of the message
    "timeout": {"type": "number", "exclusiveMinimum": 0},  # seconds per attempt
    "url": {"anyOf": [{"type": "string", "pattern": "^https?://"}, _REF],
            "x-message": "field 'url' is {env: NAME}, {file: PATH} or, for kind webhook only, an http(s) address",
            "x-fix": "a Slack or Teams webhook address holds its token: write url: {env: NAME}"},
    "secret": _secret("secret"),
    "host": _TEXT,
    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
    "from": _TEXT,
    "to": {"type": "array", "minItems": 1, "items": _TEXT},
    "username": {"anyOf": [_TEXT, _REF], "x-message": "field 'username' is text or {env: NAME}"},
    "password": _secret("password"),
    "cafile": _TEXT,  # email: a CA bundle to trust for the SMTP server's certificate
}
_SECRET_URLS = {"slack", "teams"}

RUN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["out"],
    "properties": {
        "out": _TEXT,
        "exports": _TEXT,
        "sources": {"type": "object", "additionalProperties": False, "minProperties": 1,
                    "properties": {name: {"type": ["object", "null"]} for name in SOURCES}},
        "policy": _TEXT,
        "exceptions": _TEXT,
        "identities": _TEXT,
        "report_url": {"type": "string", "pattern": r"^https?://[^@\s]*$", "x-message": "field 'report_url' is an "
                       "http(s) address without a user or password", "x-fix": "e.g. report_url: https://reports.example.com/crosspath/"},
        "notifications": {"type": "array", "items": {
            "x-label": "notification", "type": "object", "required": ["kind"], "additionalProperties": False,
            "properties": _CHANNEL_FIELDS,
        }},
        "gate": {"type": "object", "additionalProperties": False, "properties": {
            "fail_on": {"enum": list(SEVERITIES)},
            "fail_on_new": {"type": "boolean"},
            "fail_on_exception_issues": {"type": "boolean"},
            "fail_on_notification_errors": {"type": "boolean"},
            "optional_sources": {"type": "array", "items": {"enum": list(SOURCES)}},
        }},
        "notes": {},
    },
}


@dataclass(frozen=True)
class SecretRef:
    """Where a secret is: an environment variable or a file. Its repr never shows the value."""

    env: str | None
    file: Path | None
    where: str  # "crosspath.yaml: line 12", for errors

    def resolve(self) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError(f"{self.where}: environment variable {self.env} is not set; set it, or point "
                                  "the field at a file with {file: PATH}")
            return value
        try:
            return self.file.read_text(encoding="utf-8").strip()  # type: ignore[union-attr]
        except OSError as exc:
            raise ConfigError(f"{self.where}: cannot read secret file {self.file}: {exc.strerror}") from None


@dataclass(frozen=True)
class Gate:
    fail_on: str | None = None
    fail_on_new: bool = False
    fail_on_exception_issues: bool = False
    fail_on_notification_errors: bool = False
    optional_sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunConfig:
    path: Path
    out: Path
    exports: Path | None
    sources: dict[str, dict[str, Any]]
    policy: Path | None
    exceptions: Path | None
    identities: Path | None
    report_url: str | None
    notifications: list[dict[str, Any]] = field(default_factory=list)  # values: text, lists or SecretRef
    gate: Gate = Gate()


def _path(base: Path, value: Any) -> Path | None:
    return None if value is None else (base / str(value)).resolve()


def _refs(document: Document, where: tuple[str | int, ...], value: Any, base: Path) -> Any:
    if isinstance(value, dict) and set(value) <= {"env", "file"} and len(value) == 1:
        place = f"{document.path}: line {document.line(where)}"
        return SecretRef(value.get("env"), _path(base, value.get("file")), place)
    return value


def _check_channel(document: Document, index: int, item: dict[str, Any]) -> None:
    """What the schema cannot say per kind: the fields a kind takes and needs; a Slack or Teams address
    (which carries its token) only by reference. Messages never repeat a value (it may be a secret)."""
    kind, where = item["kind"], ("notifications", index)
    takes = KEYS[kind]
    other = sorted(set(item) - takes)
    if other:
        raise document.error((*where, other[0]), f"notification #{index + 1} ({kind}) does not take "
                             f"{', '.join(other)}", f"a {kind} notification takes {', '.join(sorted(takes))}")
    missing = sorted(REQUIRED[kind] - set(item))
    if missing:
        raise document.error(where, f"notification #{index + 1} ({kind}) needs {', '.join(missing)}",
                             "docs/notifications.md shows each kind's fields")
    if kind in _SECRET_URLS and isinstance(item.get("url"), str):
        raise document.error((*where, "url"), f"notification #{index + 1} ({kind}): field 'url' is a secret (the "
                             "address carries the webhook's token) and is never written in the file",
                             "write url: {env: NAME} or url: {file: /run/secrets/NAME}")


def load_run_config(path: Path) -> RunConfig:
    """The config at `path`, validated; ConfigError (file, line, fix) when it is not right."""
    document = read_document(path, RUN_SCHEMA)
    data = document.data or {}
    base = path.resolve().parent
    if ("exports" in data) == ("sources" in data):
        raise document.error((), "give either exports (a folder of export files to scan) or sources (to collect "
                             "live)", "e.g. exports: exports/   or   sources: {aws: {profile: audit}}")
    channels = []
    for index, item in enumerate(data.get("notifications") or []):
        _check_channel(document, index, item)
        channels.append({key: _refs(document, ("notifications", index, key), value, base)
                         for key, value in item.items()})
    for name, options in (data.get("sources") or {}).items():
        for key, value in (options or {}).items():
            if any(_URL_PASSWORD.search(str(item)) for item in (value if isinstance(value, list) else [value])):
                raise document.error(("sources", name, key), f"sources.{name}.{key} holds a password in an address; "
                                     "a password is never written in the file",
                                     "remove it from the address and give it by reference (for databases: "
                                     "`password_env` in the servers file named by `config:`)")
    gate = data.get("gate") or {}
    return RunConfig(
        path=path, out=_path(base, data["out"]), exports=_path(base, data.get("exports")),  # type: ignore[arg-type]
        sources={name: dict(options or {}) for name, options in (data.get("sources") or {}).items()},
        policy=_path(base, data.get("policy")), exceptions=_path(base, data.get("exceptions")),
        identities=_path(base, data.get("identities")), report_url=data.get("report_url"),
        notifications=channels,
        gate=Gate(gate.get("fail_on"), bool(gate.get("fail_on_new")), bool(gate.get("fail_on_exception_issues")),
                  bool(gate.get("fail_on_notification_errors")), tuple(gate.get("optional_sources") or ())),
    )


def collector_args(options: dict[str, Any]) -> list[str]:
    """A source's options as its `crosspath collect <source>` flags: `role_arn: [a, b]` is
    `--role-arn a --role-arn b`, `in_cluster: true` is `--in-cluster`."""
    args: list[str] = []
    for key, value in options.items():
        flag = "--" + str(key).replace("_", "-")
        if value is True:
            args.append(flag)
        elif value in (False, None):
            continue
        elif isinstance(value, list):
            for item in value:
                args += [flag, str(item)]
        else:
            args += [flag, str(value)]
    return args

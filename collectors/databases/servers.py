"""Which database servers a live run reads, and how to connect: DSNs, a config file, an env var.

A server is given as a URL (`postgresql://`, `postgres://`, `mysql://`, `mariadb://`), optionally
prefixed with its Crosspath name (`orders-prod=postgresql://...`), or as an entry of a YAML config
file. Passwords come from the URL or from an environment variable named in the config
(`password_env`); a config file never holds one in clear. Error messages and the export never
show a password: `Target.safe_dsn` is the URL with it masked.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

ENV_DSNS = "CROSSPATH_DB_DSNS"
ENGINES = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
TLS_MODES = ("disable", "prefer", "require", "verify-ca", "verify-full")
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
RESERVED_NAME = "collection"  # OUT/databases/collection.json is the run's log
_LINK_KEYS = ("aws_rds_resource_id", "aws_region", "aws_account_id", "gcp_cloudsql_instance")
_CONFIG_KEYS = {"name", "dsn", "environment", "tls", "password_env", "identity_hints", "databases", *_LINK_KEYS}


class TargetError(ValueError):
    """A server description that cannot be used; the message names where and how to fix it."""


@dataclass
class Tls:
    """TLS settings in libpq's vocabulary, mapped to each driver."""

    mode: str | None = None  # disable | prefer | require | verify-ca | verify-full
    ca: str | None = None
    cert: str | None = None
    key: str | None = None


@dataclass
class Target:
    """One server to read: connection parameters (password kept out of repr) and dump metadata."""

    name: str
    engine: str  # postgresql | mysql (the MariaDB / MySQL split is detected on the server)
    host: str
    port: int
    user: str | None
    database: str | None
    password: str | None = field(default=None, repr=False)
    params: dict[str, str] = field(default_factory=dict)
    tls: Tls = field(default_factory=Tls)
    environment: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    identity_hints: dict[str, list[str]] | None = None
    databases: list[str] | None = None  # PostgreSQL: only these databases (default: every one it can enter)
    origin: str = ""

    @property
    def safe_dsn(self) -> str:
        user = f"{self.user}{':***' if self.password else ''}@" if self.user else ""
        return f"{self.engine}://{user}{self.host}:{self.port}/{self.database or ''}"


def _default_name(host: str, port: int, engine: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "-", host) or "localhost"
    return name if port == DEFAULT_PORTS[engine] else f"{name}-{port}"


def _split_named(text: str) -> tuple[str | None, str]:
    """`orders-prod=postgresql://...` -> ("orders-prod", url); a bare URL -> (None, url)."""
    head, sep, rest = text.partition("=")
    if sep and "://" not in head and _NAME.match(head) and "://" in rest:
        return head, rest
    return None, text


def parse_dsn(text: str, origin: str = "--dsn", name: str | None = None) -> Target:
    """One server from a URL. Query parameters pass to the driver; TLS ones are understood for both."""
    given_name, url = _split_named(text.strip())
    name = name or given_name
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetError(f"{origin}: not a valid URL ({exc}); expected postgresql://user@host:5432/db "
                          "or mysql://user@host:3306/") from None
    engine = ENGINES.get(parts.scheme.lower())
    if engine is None:
        raise TargetError(f"{origin}: unknown scheme {parts.scheme + '://' if parts.scheme else '(none)'}; "
                          "use postgresql://, postgres://, mysql:// or mariadb://")
    if not parts.hostname:
        raise TargetError(f"{origin}: no host in the URL; write {parts.scheme}://user@HOST:port/")
    port = port or DEFAULT_PORTS[engine]
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    tls = Tls(
        mode=_tls_mode(params.pop("sslmode", None) or params.pop("ssl-mode", None) or params.pop("ssl_mode", None),
                       origin),
        ca=params.pop("sslrootcert", None) or params.pop("ssl-ca", None) or params.pop("ssl_ca", None),
        cert=params.pop("sslcert", None) or params.pop("ssl-cert", None) or params.pop("ssl_cert", None),
        key=params.pop("sslkey", None) or params.pop("ssl-key", None) or params.pop("ssl_key", None),
    )
    name = name or _default_name(parts.hostname, port, engine)
    if not _NAME.match(name):
        raise TargetError(f"{origin}: server name {name!r} may hold only letters, digits, '.', '_' and '-'")
    if name == RESERVED_NAME:
        raise TargetError(f"{origin}: server name {name!r} is reserved for the run's log; choose another")
    database = unquote(parts.path.lstrip("/")) or None
    return Target(name=name, engine=engine, host=parts.hostname, port=port,
                  user=unquote(parts.username) if parts.username else None,
                  password=unquote(parts.password) if parts.password is not None else None,
                  database=database, params=params, tls=tls, origin=origin)


def _tls_mode(value: str | None, origin: str) -> str | None:
    if value is None:
        return None
    # MySQL spells them REQUIRED / VERIFY_CA / VERIFY_IDENTITY / DISABLED / PREFERRED
    mode = {"required": "require", "verify_ca": "verify-ca", "verify_identity": "verify-full",
            "disabled": "disable", "preferred": "prefer"}.get(value.lower(), value.lower())
    if mode not in TLS_MODES:
        raise TargetError(f"{origin}: TLS mode {value!r} is not one of {', '.join(TLS_MODES)}")
    return mode


def _from_config_entry(entry: Any, where: str) -> Target:
    if not isinstance(entry, dict):
        raise TargetError(f"{where}: each server is a mapping with at least `dsn`")
    if "password" in entry:
        raise TargetError(f"{where}.password: passwords are never read from the config file; "
                          "set `password_env: SOME_VAR` and export SOME_VAR")
    unknown = sorted(set(entry) - _CONFIG_KEYS)
    if unknown:
        raise TargetError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_CONFIG_KEYS))}")
    if not isinstance(entry.get("dsn"), str):
        raise TargetError(f"{where}.dsn: required, a postgresql:// or mysql:// URL")
    target = parse_dsn(entry["dsn"], f"{where}.dsn", name=entry.get("name"))
    if urlsplit(entry["dsn"]).password or "password" in target.params:
        raise TargetError(f"{where}.dsn: the URL holds a password; remove it and use `password_env`")
    if entry.get("password_env"):
        variable = str(entry["password_env"])
        if variable not in os.environ:
            raise TargetError(f"{where}.password_env: environment variable {variable} is not set")
        target.password = os.environ[variable]
    environment = entry.get("environment")
    if environment is not None and environment not in ("prod", "nonprod"):
        raise TargetError(f"{where}.environment: {environment!r} is not prod or nonprod")
    target.environment = environment
    tls = entry.get("tls") or {}
    if not isinstance(tls, dict):
        raise TargetError(f"{where}.tls: a mapping with mode / ca / cert / key")
    target.tls = Tls(mode=_tls_mode(tls.get("mode"), f"{where}.tls.mode") or target.tls.mode,
                     ca=tls.get("ca") or target.tls.ca, cert=tls.get("cert") or target.tls.cert,
                     key=tls.get("key") or target.tls.key)
    target.links = {key: str(entry[key]) for key in _LINK_KEYS if entry.get(key) is not None}
    hints = entry.get("identity_hints")
    if hints is not None:
        if not isinstance(hints, dict) or set(hints) - {"humans", "machines"}:
            raise TargetError(f"{where}.identity_hints: a mapping with `humans` and / or `machines` lists")
        target.identity_hints = {key: [str(v) for v in hints.get(key) or []] for key in ("humans", "machines")}
    if entry.get("databases") is not None:
        target.databases = [str(d) for d in entry["databases"]]
    target.origin = where
    return target


def load_config(path: Path) -> list[Target]:
    """Servers from a YAML file: a list, or a mapping with a `servers` list."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise TargetError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise TargetError(f"{path}: invalid YAML: {exc}") from None
    if isinstance(data, dict):
        data = data.get("servers")
    if not isinstance(data, list):
        raise TargetError(f"{path}: expected a list of servers (or `servers:` holding one)")
    return [_from_config_entry(entry, f"{path}: servers[{index}]") for index, entry in enumerate(data)]


def gather_targets(dsns: tuple[str, ...] | list[str], config: Path | None,
                   environment: str | None = None) -> list[Target]:
    """Every server of a run: --dsn values, then CROSSPATH_DB_DSNS (space / newline separated), then
    the config file. --environment applies to servers given by URL. Names must be unique."""
    targets = [parse_dsn(dsn, f"--dsn #{i + 1}") for i, dsn in enumerate(dsns)]
    targets += [parse_dsn(dsn, f"{ENV_DSNS} #{i + 1}") for i, dsn in enumerate(os.environ.get(ENV_DSNS, "").split())]
    for target in targets:
        target.environment = environment
    if config is not None:
        targets += load_config(config)
    seen: dict[str, str] = {}
    for target in targets:
        if target.name in seen:
            raise TargetError(f"{target.origin}: server name {target.name!r} is already used by {seen[target.name]}; "
                              "name servers with NAME=URL or `name:` in the config")
        seen[target.name] = target.origin
    return targets

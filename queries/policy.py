"""The policy: one declarative statement of intent, enforced across every stack.

`load_policy(path)` merges a user's YAML over `default_policy.yaml`; unknown keys
and wrong types are errors that name the file, the line and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from graph.schema import LEVELS
from queries.yaml_files import ConfigError, line_of, load_yaml, strip_lines

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.yaml")
_WORDS = re.compile(r"[a-z0-9]+")


def _merge(base: Any, override: Any, path: str, file: Path) -> Any:
    if isinstance(base, dict):
        if not isinstance(override, dict):
            raise ConfigError(f"{file}: field '{path.lstrip('.')}' must be a mapping, got {override!r}")
        merged = dict(base)
        for key, value in override.items():
            if key == "__line__":
                continue
            # Free-form maps (tag names) accept any key.
            if key not in base and not path.endswith(".tags"):
                allowed = ", ".join(sorted(k for k in base if k != "__line__"))
                dotted = f"{path}.{key}".lstrip(".")
                raise ConfigError(
                    f"{file}: {line_of(override)}: unknown field '{dotted}' (allowed here: {allowed})"
                )
            merged[key] = _merge(base[key], value, f"{path}.{key}", file) if key in base else value
        return merged
    if isinstance(base, list) and not isinstance(override, list):
        raise ConfigError(f"{file}: field '{path.lstrip('.')}' must be a list, got {override!r}")
    if isinstance(base, bool) and not isinstance(override, bool):
        raise ConfigError(f"{file}: field '{path.lstrip('.')}' must be true or false, got {override!r}")
    if isinstance(base, int) and not isinstance(base, bool) and (
        not isinstance(override, int) or isinstance(override, bool) or override < 0
    ):
        raise ConfigError(f"{file}: field '{path.lstrip('.')}' must be a whole number >= 0, got {override!r}")
    return override


@dataclass(frozen=True)
class Policy:
    raw: dict[str, Any]
    source: str

    @property
    def name(self) -> str:
        return self.raw["name"]

    @property
    def mfa_rule(self) -> dict[str, Any]:
        return self.raw["rules"]["require_mfa"]

    @property
    def key_rule(self) -> dict[str, Any]:
        return self.raw["rules"]["max_key_age"]

    @property
    def max_key_age_days(self) -> int:
        return int(self.key_rule["max_age_days"])

    @property
    def mfa_applies_to_machines(self) -> bool:
        return self.mfa_rule["applies_to"] == "all"

    @property
    def privileged_levels(self) -> frozenset[str]:
        return frozenset(self.raw["privileged"]["levels"])

    def is_long_lived(self, age_days: int | None, expires: str | None) -> bool:
        """Older than the maximum age, or never expiring where the policy says that is enough."""
        if age_days is not None and age_days > self.max_key_age_days:
            return True
        if expires is None:
            return bool(self.key_rule["no_expiry_is_long_lived"]) or (
                age_days is None and bool(self.key_rule["unknown_age_without_expiry_is_long_lived"])
            )
        return False

    def human_override(self, node_id: str) -> bool | None:
        identities = self.raw["identities"]
        if any(fnmatchcase(node_id, glob) for glob in identities["humans"]):
            return True
        if any(fnmatchcase(node_id, glob) for glob in identities["machines"]):
            return False
        return None

    def environment_of(self, node_id: str, name: str, tags: list[str] | None) -> str:
        """prod / nonprod from the policy's ids, tags and name words; 'unknown' if none match."""
        env_rules = self.raw["environment"]
        for env in ("prod", "nonprod"):
            if node_id in env_rules[env]["ids"]:
                return env
        pairs = [tag.split("=", 1) for tag in tags or () if "=" in tag]
        for env in ("prod", "nonprod"):
            wanted = env_rules[env]["tags"]
            for key, value in pairs:
                if value.lower() in [str(v).lower() for v in wanted.get(key.lower(), ())]:
                    return env
        words = set(_WORDS.findall(name.lower()))
        # nonprod first: "preprod" and "nonprod" must not read as prod.
        for env in ("nonprod", "prod"):
            rules = env_rules[env]
            if words & set(rules["name_words"]) or any(fnmatchcase(name, g) for g in rules["name_globs"]):
                return env
        return "unknown"

    @property
    def inherit_environment(self) -> bool:
        return bool(self.raw["environment"]["inherit_from_scope"])

    def is_sensitive(self, node_id: str, name: str, sensitivity: str | None) -> bool:
        rules = self.raw["sensitive"]
        return (
            (sensitivity or "").lower() in self.raw["privileged"]["sensitivities"]
            or node_id in rules["ids"]
            or any(fnmatchcase(name, glob) for glob in rules["name_globs"])
        )

    def is_privileged_target(self, kind: str, environment: str, sensitive: bool, level: str) -> bool:
        privileged = self.raw["privileged"]
        if level not in privileged["levels"]:
            return False
        if level == "admin" and kind in privileged["scope_admin_kinds"]:
            return True
        return environment in privileged["environments"] or sensitive

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "rules": {
                "require_mfa": {k: self.mfa_rule[k] for k in ("id", "description", "applies_to")},
                "max_key_age": {
                    k: self.key_rule[k]
                    for k in ("id", "description", "max_age_days", "no_expiry_is_long_lived",
                              "unknown_age_without_expiry_is_long_lived")
                },
            },
            "privileged": self.raw["privileged"],
        }


def _check(raw: dict[str, Any], file: Path) -> None:
    applies = raw["rules"]["require_mfa"]["applies_to"]
    if applies not in ("human", "all"):
        raise ConfigError(f"{file}: field 'rules.require_mfa.applies_to' must be 'human' or 'all', got {applies!r}")
    bad_levels = set(raw["privileged"]["levels"]) - set(LEVELS)
    if bad_levels:
        raise ConfigError(f"{file}: field 'privileged.levels' has unknown levels {sorted(bad_levels)}; use {LEVELS}")
    for key in ("scope_admin", "admin", "write"):
        if raw["severity"][key] not in ("low", "medium", "high", "critical"):
            raise ConfigError(f"{file}: field 'severity.{key}' must be low, medium, high or critical")


def load_policy(path: Path | None = None) -> Policy:
    defaults = load_yaml(DEFAULT_POLICY_PATH)
    if path is None:
        raw = strip_lines(defaults)
        return Policy(raw, "default")
    override = load_yaml(path)
    if override is None:
        override = {}
    if not isinstance(override, dict):
        raise ConfigError(f"{path}: a policy file must be a mapping of fields (see queries/default_policy.yaml)")
    raw = strip_lines(_merge(defaults, override, "", path))
    _check(raw, path)
    return Policy(raw, str(path))

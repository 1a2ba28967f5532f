"""The policy: one declarative statement of intent, enforced across every stack.

`load_policy(path)` merges a user's YAML over `default_policy.yaml`; the file is validated by
queries/yaml_files.py (unknown keys, wrong types: errors that name the file, the line and the fix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cached_property
from pathlib import Path
from typing import Any

from queries.yaml_files import Document, policy_schema, read_document

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.yaml")
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class _EnvRules:
    """One environment's section of the policy, compiled for matching."""

    ids: frozenset[str]
    tag_keys: frozenset[str]
    words: frozenset[str]  # one-part words: compared with tag values and with name tokens
    phrases: tuple[tuple[str, ...], ...]  # words of several parts (`non-prod`): runs of name tokens
    tags: dict[str, frozenset[str]]
    name_globs: tuple[str, ...]

    @classmethod
    def of(cls, rules: dict[str, Any], tag_keys: frozenset[str]) -> _EnvRules:
        words = [str(word).strip().lower() for word in rules["words"]]
        return cls(
            ids=frozenset(str(i) for i in rules["ids"]),
            tag_keys=tag_keys,
            words=frozenset(words),
            phrases=tuple(parts for parts in (tuple(_WORDS.findall(w)) for w in words) if len(parts) > 1),
            tags={str(k).lower(): frozenset(str(v).lower() for v in values) for k, values in rules["tags"].items()},
            name_globs=tuple(str(glob) for glob in rules["name_globs"]),
        )

    def tag_matches(self, key: str, value: str) -> bool:
        return (key in self.tag_keys and value in self.words) or value in self.tags.get(key, ())

    def name_matches(self, name: str, tokens: list[str]) -> bool:
        if not self.words.isdisjoint(tokens):
            return True
        for parts in self.phrases:
            width = len(parts)
            if any(tuple(tokens[i : i + width]) == parts for i in range(len(tokens) - width + 1)):
                return True
        return any(fnmatchcase(name, glob) for glob in self.name_globs)


def _merge(base: Any, override: Any) -> Any:
    """The user's values over the defaults: mappings merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{key: _merge(base.get(key), value) for key, value in override.items()}}
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
    def exception_rules(self) -> dict[str, Any]:
        """require_approval, max_lifetime_days, max_findings, review_window_days (default_policy.yaml)."""
        return self.raw["exceptions"]

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

    # -- environment: one word list for every source (README "Policy") ------------------------

    @cached_property
    def _environment_rules(self) -> dict[str, _EnvRules]:
        section = self.raw["environment"]
        keys = frozenset(str(key).lower() for key in section["tag_keys"])
        return {env: _EnvRules.of(section[env], keys) for env in ("prod", "nonprod")}

    @cached_property
    def _tag_environments(self) -> dict[tuple[Any, ...], str | None]:
        return {}  # tag_environment's answers by tag list: a hundred thousand resources share a few lists

    def tag_environment(self, tags: list[str] | None) -> str | None:
        """prod / nonprod from `key=value` tags: a value of one of `tag_keys` that is one of the
        environment's `words`, or an explicit `tags` pair. Prod first: a conflict counts as prod."""
        key = tuple(tags or ())
        try:
            return self._tag_environments[key]
        except KeyError:
            found = self._tag_environments[key] = self._decide_tag_environment(key)
            return found
        except TypeError:  # a tag that cannot be a key (not a string): decided without the memo
            return self._decide_tag_environment(key)

    def _decide_tag_environment(self, tags: tuple[Any, ...]) -> str | None:
        pairs = [(key.strip().lower(), value.strip().lower())
                 for key, value in (tag.split("=", 1) for tag in tags or () if "=" in tag)]
        for env in ("prod", "nonprod"):
            if any(self._environment_rules[env].tag_matches(key, value) for key, value in pairs):
                return env
        return None

    def rule_environment(self, node_id: str, tags: list[str] | None) -> str | None:
        """The policy's explicit say: its `ids`, then its tag rules. Overrides what a source stated."""
        for env in ("prod", "nonprod"):
            if node_id in self._environment_rules[env].ids:
                return env
        return self.tag_environment(tags)

    def name_environment(self, name: str) -> str | None:
        """prod / nonprod from whole words of the name (`product` is not `prod`; `pre-prod` is one
        word of two parts) or a name glob. Non-production first: `preprod-cache` is nonprod."""
        tokens = _WORDS.findall(name.lower())
        for env in ("nonprod", "prod"):
            if self._environment_rules[env].name_matches(name, tokens):
                return env
        return None

    def environment_of(self, node_id: str, name: str, tags: list[str] | None, stated: str | None = None) -> str:
        """One resource on its own (no scope): ids, tags, what its source `stated`, name words."""
        if stated not in ("prod", "nonprod"):
            stated = None
        return self.rule_environment(node_id, tags) or stated or self.name_environment(name) or "unknown"

    @property
    def inherit_environment(self) -> bool:
        return bool(self.raw["environment"]["inherit_from_scope"])

    @property
    def environment_from_contents(self) -> tuple[frozenset[str], frozenset[str]]:
        """(scope kinds, content kinds): a scope of the first kinds takes its environment from the
        resources of the second kinds beneath it (GCP: organization / folder from its projects)."""
        rule = self.raw["environment"]["from_contents"]
        return frozenset(rule["kinds"]), frozenset(rule["of"])

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
            "exceptions": self.exception_rules,
        }


def _check(raw: dict[str, Any], document: Document) -> None:
    """What one field's rules cannot say (queries/yaml_files.py checks each field)."""
    env = raw["environment"]
    both = {str(w).lower() for w in env["prod"]["words"]} & {str(w).lower() for w in env["nonprod"]["words"]}
    if both:
        written = "nonprod" if "nonprod" in ((document.data or {}).get("environment") or {}) else "prod"
        raise document.error(("environment", written, "words"),
                             f"fields 'environment.prod.words' and 'environment.nonprod.words' share {sorted(both)}",
                             "a word names one environment: remove it from one of the lists")


def load_policy(path: Path | None = None) -> Policy:
    """The default policy, or the user's file at `path` merged over it (validated: unknown fields,
    wrong types and impossible values are ConfigErrors naming the file, the line and the fix)."""
    defaults = read_document(DEFAULT_POLICY_PATH, None).data
    if path is None:
        return Policy(defaults, "default")
    document = read_document(path, policy_schema(defaults))
    override = {key: value for key, value in (document.data or {}).items() if key != "notes"}
    raw = _merge(defaults, override)
    _check(raw, document)
    return Policy(raw, str(path))

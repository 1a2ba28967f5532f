"""YAML loading with errors that name the file, the line and the field.

It sits in the graph layer so the builder's own input (`identities.yaml`, graph/identities.py) and the
queries' policy and exceptions files share one loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """A policy, exceptions or identities file that cannot be used; the message says where and how to fix it."""


class _LineLoader(yaml.SafeLoader):
    """Records the line of every mapping as `__line__` so later checks can point at it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file; syntax errors become ConfigError with the line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read file: {exc.strerror}") from exc
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        raise ConfigError(f"{path}: invalid YAML at {where}: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc


def strip_lines(value: Any) -> Any:
    """The same data without the `__line__` markers."""
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [strip_lines(item) for item in value]
    return value


def line_of(mapping: Any) -> str:
    return f"line {mapping['__line__']}" if isinstance(mapping, dict) and "__line__" in mapping else "?"

"""The YAML helpers moved down to graph/yaml_files.py (the builder reads identities.yaml with them);
this name stays so existing imports of `queries.yaml_files` keep working."""

from graph.yaml_files import ConfigError, line_of, load_yaml, strip_lines

__all__ = ["ConfigError", "line_of", "load_yaml", "strip_lines"]

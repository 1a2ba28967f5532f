"""The `crosspath` command line (filled in by the foundation work)."""

import click


@click.group()
def main() -> None:
    """Crosspath: cross-stack privileged paths that lack MFA or rely on long-lived keys."""

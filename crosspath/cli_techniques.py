"""`crosspath techniques`: the technique catalogue (graph.techniques) as a table, JSON or Markdown.

`docs/techniques.md` is this command's Markdown output (`crosspath techniques --format markdown >
docs/techniques.md`); tests/techniques/test_catalogue.py fails when the file is out of date.
Registered on the main group by crosspath/cli.py (`register(main)`)."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from collectors import SOURCES, technique_catalogue
from graph.techniques import References, Technique
from queries.reports.terminal_text import text

stdout = Console()

MITRE = "https://attack.mitre.org/techniques/{}/"
PATHFINDING = "https://pathfinding.cloud/paths/{}"


def techniques_of(source: str | None) -> list[Technique]:
    catalogue = technique_catalogue()
    return [t for t in catalogue if source is None or t.source == source]


def _reference_markdown(references: References) -> list[str]:
    """Each reference, linked where the catalogue has a page per entry."""
    parts = []
    for label, value in references.labelled():
        if label == "pathfinding.cloud":
            value = ", ".join(f"[{p}]({PATHFINDING.format(p)})" for p in references.pathfinding)
        elif label == "MITRE ATT&CK":
            value = f"[{value}]({MITRE.format(value.replace('.', '/'))})"
        elif label == "link":
            parts.append(f"<{value}>")
            continue
        else:
            value = f"`{value}`"
        parts.append(f"{label} {value}")
    return parts


def catalogue_markdown(techniques: list[Technique]) -> str:
    """The catalogue as docs/techniques.md: an index per source, then one section per technique."""
    lines = ["# Technique catalogue", "",
             ("Every escalation and abuse technique Crosspath draws, one entry each, generated from the registry "
             "(`graph/techniques.py`) by `crosspath techniques --format markdown`. Each derived edge names the "
             "techniques that draw it in its `techniques` property; each technique has a present and an absent "
             "case in `tests/techniques/`."), "",
             ("**Composition.** A technique marked *changes the target's permissions* (attach or write a policy) "
              "does not let its holder act as the target. The path engine instead gives admin over the target's "
              "scope (its AWS account) to whoever holds the grant (directly, or through a group or role it acts "
              "as) and can also act as the target (is it, assumes it, mints its key, ...). A CAN_GRANT on a "
              "scope itself (bind a role on a namespace, setIamPolicy on a project) is admin over that scope."), ""]
    for source in SOURCES:
        of_source = [t for t in techniques if t.source == source]
        lines += [f"## {source} ({len(of_source)})", ""]
        if not of_source:
            lines += ["No techniques.", ""]
            continue
        lines += ["| id | title | edge |", "|---|---|---|"]
        lines += [f"| [`{t.id}`](#{t.anchor}) | {t.title} | `{t.edge_kind}` |" for t in of_source]
        lines.append("")
    for t in techniques:
        lines += [f'<a id="{t.anchor}"></a>', f"### `{t.id}`: {t.title}", "",
                  f"- **Source / edge:** {t.source}, `{t.edge_kind}`"
                  + (" — changes the target's permissions: admin over its scope only together with acting as "
                     "the target (composition)" if t.changes_permissions else ""),
                  "- **Requires:** " + "; ".join(f"`{r}`" for r in t.requires),
                  f"- **Attack:** {t.description}",
                  f"- **Remediation:** {t.remediation}"]
        references = _reference_markdown(t.references)
        if references:
            lines.append("- **References:** " + "; ".join(references))
        lines.append("")
    return "\n".join(lines)


@click.command("techniques")
@click.option("--source", type=click.Choice(list(SOURCES)), default=None, help="Only this source's techniques.")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True)
def techniques_command(source: str | None, output_format: str) -> None:
    """List the technique catalogue: every escalation / abuse technique with its requirements."""
    techniques = techniques_of(source)
    if output_format == "json":
        click.echo(json.dumps([t.to_dict() for t in techniques], indent=2, ensure_ascii=False))
        return
    if output_format == "markdown":
        click.echo(catalogue_markdown(techniques), nl=False)
        return
    table = Table(title=f"{len(techniques)} technique(s); every field: --format json or markdown")
    table.add_column("id", no_wrap=True)
    for column in ("edge", "title", "requires"):
        table.add_column(column, overflow="fold")
    for t in techniques:
        table.add_row(text(t.id), text(t.edge_kind), text(t.title), text("\n".join(t.requires), multiline=True))
    stdout.print(table)


def register(main: click.Group) -> None:
    main.add_command(techniques_command)

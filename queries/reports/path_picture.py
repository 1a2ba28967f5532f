"""An inline SVG of one finding's path: nodes left to right, coloured by provider.

Edges are labelled by kind, with `via` (and conditions, and what an assumed edge assumes) as a hover
<title>; an assumed edge is drawn dashed. MFA shows as a lock badge on an edge that demands it,
"MFA ?" where unknown, and a red "no MFA" under a person's entry (a machine's entry shows its key's age).
Self-contained: no ids, no scripts, no external fonts, every text escaped.
"""

from __future__ import annotations

from html import escape

from queries.findings import Finding
from queries.reports.describe import (
    MFA_LOCK,
    NO_MFA_MARK,
    edge_mfa_mark,
    entry_age,
    entry_mfa_mark,
    label,
    provider_shown,
)

PROVIDER_COLORS = {
    "aws": "#FF9900",  # orange
    "entra": "#0078D4",  # blue
    "gcp": "#34A853",  # green
    "k8s": "#3F51B5",  # indigo
    "postgres": "#6A5ACD",  # slate blue
    "mysql": "#008080",  # teal
    "external": "#808080",  # grey
}
_DARK_TEXT = {"aws"}  # white on orange is unreadable
NODE_W, NODE_H, GAP, MARGIN, TOP = 180, 54, 140, 24, 24
HEIGHT = 132


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


AGE_BADGE = "#E65100"  # a machine key's age, where a person's entry shows its MFA badge


def _badge(x: float, y: float, text: str, fill: str, color: str = "#fff") -> str:
    width = 7 * len(text) + 12
    return (
        f'<rect x="{x - width / 2:.0f}" y="{y - 11}" width="{width}" height="16" rx="8" fill="{fill}"/>'
        f'<text x="{x:.0f}" y="{y + 1}" font-size="10" font-weight="bold" fill="{color}" '
        f'text-anchor="middle">{escape(text)}</text>'
    )


def _lock_badge(x: float, y: float) -> str:
    """A drawn padlock, not the emoji: SVG text falls back to a box where no emoji font is installed."""
    left = x - 23
    return (
        f'<rect x="{left:.0f}" y="{y - 11}" width="46" height="16" rx="8" fill="#2E7D32"/>'
        f'<rect x="{left + 7:.0f}" y="{y - 5}" width="8" height="6" rx="1" fill="#fff"/>'
        f'<path d="M{left + 8.5:.1f},{y - 5} v-2 a2.5,2.5 0 0 1 5,0 v2" stroke="#fff" stroke-width="1.4" fill="none"/>'
        f'<text x="{x + 6:.0f}" y="{y + 1}" font-size="10" font-weight="bold" fill="#fff" '
        f'text-anchor="middle">MFA</text>'
    )


def _mfa_badge(x: float, y: float, mark: str) -> str:
    if mark == MFA_LOCK:
        return _lock_badge(x, y)
    if mark == NO_MFA_MARK:
        return _badge(x, y, mark, "#C62828")
    return _badge(x, y, mark, "#FFD54F", "#333")


def _node(x: float, name: str, node_id: str, provider: str, detail: str) -> str:
    fill = PROVIDER_COLORS.get(provider, PROVIDER_COLORS["external"])
    color = "#1A1A1A" if provider in _DARK_TEXT else "#FFFFFF"
    center = x + NODE_W / 2
    return (
        f'<g><title>{escape(name)}\n{escape(node_id)}</title>'
        f'<rect x="{x}" y="{TOP}" width="{NODE_W}" height="{NODE_H}" rx="8" fill="{fill}"/>'
        f'<text x="{center:.0f}" y="{TOP + 22}" font-size="11" font-weight="bold" fill="{color}" '
        f'text-anchor="middle">{escape(_clip(name, 22))}</text>'
        f'<text x="{center:.0f}" y="{TOP + 40}" font-size="10" fill="{color}" '
        f'text-anchor="middle">{escape(_clip(detail, 30))}</text></g>'
    )


def render_path_svg(finding: Finding, show_via: bool = False) -> str:
    """`show_via` also writes each edge's `via` above its kind (the dashboard); reports keep it a tooltip."""
    entry, target, path = finding.entry, finding.target, finding.path
    nodes = [(label(path[0].source_name, path[0].source), path[0].source, path[0].source_provider)] if path else [
        (label(entry.get("name", ""), entry.get("id", "")), entry.get("id", ""), entry.get("provider", ""))
    ]
    nodes += [(label(e.target_name, e.target), e.target, e.target_provider) for e in path]
    width = 2 * MARGIN + len(nodes) * NODE_W + (len(nodes) - 1) * GAP
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="path-picture" width="{width}" height="{HEIGHT}" '
        f'viewBox="0 0 {width} {HEIGHT}" role="img" font-family="Helvetica, Arial, sans-serif" '
        f'aria-label="{escape(finding.title)}">')
    ]
    for index, (name, node_id, provider) in enumerate(nodes):
        x = MARGIN + index * (NODE_W + GAP)
        detail = provider_shown(provider, node_id)
        if index == 0:
            detail = f"{detail} · {entry.get('kind', '')}"
        elif index == len(nodes) - 1:
            detail = f"{detail} · {target.get('kind', '')} · {target.get('level') or '?'}"
        parts.append(_node(x, name, node_id, provider, detail))
    middle = TOP + NODE_H / 2
    for index, edge in enumerate(path):
        start = MARGIN + index * (NODE_W + GAP) + NODE_W
        end, center = start + GAP, start + GAP / 2
        tooltip = edge.via + "".join(f"\n{condition}" for condition in edge.conditions)
        if edge.assumed:
            tooltip += f"\nassumed: {edge.assumed_reason or 'not proven by the collected inventory'}"
        kind = f"{edge.kind} ({edge.level})" if edge.level else edge.kind
        dashed = ' stroke-dasharray="5 3"' if edge.assumed else ""
        parts.append(
            f'<g><title>{escape(tooltip)}</title>'
            f'<line x1="{start + 4}" y1="{middle:.0f}" x2="{end - 10}" y2="{middle:.0f}" stroke="#555" '
            f'stroke-width="2"{dashed}/>'
            f'<polygon points="{end - 2},{middle:.0f} {end - 12},{middle - 5:.0f} {end - 12},{middle + 5:.0f}" '
            f'fill="#555"/>'
            f'<text x="{center:.0f}" y="{middle - 8:.0f}" font-size="9" fill="#333" '
            f'text-anchor="middle">{escape(kind)}</text>'
        )
        if show_via:
            parts.append(f'<text x="{center:.0f}" y="{middle - 20:.0f}" font-size="8" fill="#666" '
                         f'text-anchor="middle">{escape(_clip(edge.via, 28))}</text>')
        mark = edge_mfa_mark(edge)
        if mark:
            parts.append(_mfa_badge(center, middle + 18, mark))
        parts.append("</g>")
    entry_center = MARGIN + NODE_W / 2
    mark, age = entry_mfa_mark(entry), entry_age(entry)
    if not mark:  # a machine cannot answer MFA: its key's age is the badge
        if age:
            parts.append(_badge(entry_center, TOP + NODE_H + 22, age, AGE_BADGE))
    else:
        parts.append(_mfa_badge(entry_center, TOP + NODE_H + 22, mark))
    if mark and age:
        parts.append(
            f'<text x="{entry_center:.0f}" y="{TOP + NODE_H + 46}" font-size="9" fill="#333" '
            f'text-anchor="middle">{escape(age)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

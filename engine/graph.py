"""A workflow spec drawn as Graphviz DOT, states labelled in Chinese, grouped by level."""

from __future__ import annotations

from collections.abc import Collection

from engine.checks import expand_sources
from engine.spec import WorkflowSpec

# one fill per declared level, in the spec's order (lowest first)
_LEVEL_COLOURS = ("#e8f1fb", "#e9f7ef", "#fdf6e3", "#fdecea", "#efe9f7", "#eeeeee")


def _quote(text: str) -> str:
    """A DOT string; a newline in the text becomes a centred line break (\\n in DOT)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


CURRENT_COLOUR = "#c0392b"
PATH_COLOUR = "#1f6fb2"


def to_dot(
    spec: WorkflowSpec,
    *,
    font: str = "Noto Sans CJK SC",
    current: str | None = None,
    path: Collection[tuple[str, str]] = (),
) -> str:
    """DOT source for the spec; self-loops are listed inside their state's box, not drawn.

    Args:
        spec: the flow.
        font: a CJK font Graphviz can find.
        current: a case's state, drawn in red with a heavy border.
        path: the (source, dest) moves the case made, drawn heavy in blue.

    Returns:
        Text for `dot -Tsvg`.
    """
    visited = {state for move in path for state in move}
    lines = [
        f"digraph {_quote(spec.id)} {{",
        f"  graph [rankdir=TB, fontname={_quote(font)}, labelloc=t, "
        f"label={_quote(f'{spec.title}（v{spec.version}）')}];",
        f'  node [shape=box, style="rounded,filled", fontname={_quote(font)}, fontsize=11];',
        f'  edge [fontname={_quote(font)}, fontsize=9, color="#555555"];',
        '  __start [shape=point, width=0.15, label=""];',
        f"  __start -> {_quote(spec.initial)};",
    ]
    internal: dict[str, list[str]] = {}
    for transition in spec.transitions:
        for source in expand_sources(spec, transition.source):
            if transition.dest is None or transition.dest == source:
                internal.setdefault(source, []).append(transition.label)
    for state in spec.states:
        rank = -1 if state.level is None else spec.level_rank(state.level)
        colour = _LEVEL_COLOURS[rank % len(_LEVEL_COLOURS)] if rank >= 0 else "#ffffff"
        title = state.label + (f"\n[{spec.level_label(state.level)}]" if state.level else "")
        if state.deadline:
            unit = "个工作日" if state.deadline.working_days else "日"
            title += f"\n期限 {state.deadline.days}{unit}"
        if state.max_sessions:
            title += f"\n至多调解 {state.max_sessions} 次"
        extras = internal.get(state.name, [])
        if extras and not state.final:
            title += "\n—\n" + "\n".join(sorted(set(extras))[:8])
        shape = ", peripheries=2" if state.final else ""
        if state.name == current:
            title = "▶ 当前：" + title
            shape += f', color="{CURRENT_COLOUR}", penwidth=3, fontcolor="{CURRENT_COLOUR}"'
        elif state.name in visited:
            shape += f', color="{PATH_COLOUR}", penwidth=2'
        lines.append(
            f"  {_quote(state.name)} [label={_quote(title)}, fillcolor={_quote(colour)}{shape}];"
        )
    for transition in spec.transitions:
        if transition.dest is None:
            continue
        roles = "、".join(spec.role_label(r) for r in transition.roles)
        sources = expand_sources(spec, transition.source)
        for source in sources:
            if source == transition.dest:
                continue
            label = transition.label + ("（需理由）" if transition.reason_required else "")
            attributes = f"label={_quote(label)}, tooltip={_quote(roles)}"
            if (source, transition.dest) in path:
                attributes += f', color="{PATH_COLOUR}", penwidth=2.5, fontcolor="{PATH_COLOUR}"'

            lines.append(f"  {_quote(source)} -> {_quote(transition.dest)} [{attributes}];")
    lines.append("}")
    return "\n".join(lines) + "\n"

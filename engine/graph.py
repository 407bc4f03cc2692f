"""A workflow spec drawn as Graphviz DOT, states labelled in Chinese, grouped by level."""

from __future__ import annotations

from engine.checks import expand_sources
from engine.spec import LEVEL_LABELS, ROLE_LABELS, WorkflowSpec

_LEVEL_COLOURS = {
    "intake": "#e8f1fb",
    "grid": "#e9f7ef",
    "community": "#fdf6e3",
    "street": "#fdecea",
    "court": "#efe9f7",
    "closed": "#eeeeee",
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(
    spec: WorkflowSpec, *, font: str = "Noto Sans CJK SC", current: str | None = None
) -> str:
    """DOT source for the spec; self-loops are listed inside their state's box, not drawn;
    `current` (a state's name) is drawn bold on yellow, for a case's page.

    Returns:
        Text for `dot -Tsvg`.
    """
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
        level = state.level.value if state.level else None
        colour = _LEVEL_COLOURS.get(level or "", "#ffffff")
        title = state.label + (f"\\n[{LEVEL_LABELS[state.level]}]" if state.level else "")
        if state.deadline:
            unit = "个工作日" if state.deadline.working_days else "日"
            title += f"\\n期限 {state.deadline.days}{unit}"
        if state.max_sessions:
            title += f"\\n至多调解 {state.max_sessions} 次"
        extras = internal.get(state.name, [])
        if extras and not state.final:
            title += "\\n—\\n" + "\\n".join(sorted(set(extras))[:8])
        shape = ", peripheries=2" if state.final else ""
        if state.name == current:
            colour = "#ffd54f"
            title = "▶ 当前 ▶\\n" + title
            shape += ', penwidth=3, color="#b71c1c", fontsize=13'
        lines.append(
            f"  {_quote(state.name)} [label={_quote(title)}, fillcolor={_quote(colour)}{shape}];"
        )
    for transition in spec.transitions:
        if transition.dest is None:
            continue
        roles = "、".join(ROLE_LABELS[r] for r in transition.roles)
        sources = expand_sources(spec, transition.source)
        for source in sources:
            if source == transition.dest:
                continue
            label = transition.label + ("（需理由）" if transition.reason_required else "")
            attributes = f"label={_quote(label)}, tooltip={_quote(roles)}"
            lines.append(f"  {_quote(source)} -> {_quote(transition.dest)} [{attributes}];")
    lines.append("}")
    return "\n".join(lines) + "\n"

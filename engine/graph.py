"""A workflow drawn by transitions' diagram extension from the spec's compiled machine: states
captioned in Chinese and coloured by level, edges labelled with the transitions' Chinese
labels, a case's current state and the path it took highlighted.

The looks are the machine's style attributes, set once when the spec compiles
(`dress_machine`); a drawing is a fresh `SpecGraph` over the shared machine, so cases never
touch the machine and drawings never touch each other.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, cast

from transitions.extensions.diagrams_graphviz import Graph

from engine.checks import expand_sources
from engine.spec import WorkflowSpec

if TYPE_CHECKING:
    from transitions.extensions.diagrams import GraphMachine

    from engine.machine import CompiledSpec

FONT = "Noto Sans CJK SC"
CURRENT_COLOUR = "#c0392b"
PATH_COLOUR = "#1f6fb2"
# one fill per declared level, in the spec's order (lowest first)
_LEVEL_COLOURS = ("#e8f1fb", "#e9f7ef", "#fdf6e3", "#fdecea", "#efe9f7", "#eeeeee")
_LINE = r"\l"  # a DOT line break; the extension ends every state caption with one too
_markup_lock = threading.Lock()  # the machine builds its markup once, on the first drawing


def _level_colour(spec: WorkflowSpec, level: str | None) -> str:
    rank = -1 if level is None else spec.level_rank(level)
    return _LEVEL_COLOURS[rank % len(_LEVEL_COLOURS)] if rank >= 0 else "#ffffff"


def state_captions(spec: WorkflowSpec) -> dict[str, str]:
    """Each state's caption: its label, level, deadline, session limit, and the steps that keep
    the case in the state (listed inside the box rather than drawn as loops)."""
    internal: dict[str, list[str]] = {}
    for transition in spec.transitions:
        for source in expand_sources(spec, transition.source):
            if transition.dest is None or transition.dest == source:
                internal.setdefault(source, []).append(transition.label)
    captions: dict[str, str] = {}
    for state in spec.states:
        lines = [state.label]
        if state.level:
            lines.append(f"[{spec.level_label(state.level)}]")
        if state.deadline:
            unit = "个工作日" if state.deadline.working_days else "日"
            lines.append(f"期限 {state.deadline.days}{unit}")
        if state.max_sessions:
            lines.append(f"至多办理 {state.max_sessions} 次")
        extras = internal.get(state.name, [])
        if extras and not state.final:
            lines += ["—", *sorted(set(extras))[:8]]
        captions[state.name] = _LINE.join(line.replace("\\", "\\\\") for line in lines)
    return captions


def _edges(spec: WorkflowSpec) -> dict[tuple[str, str], list[str]]:
    """Every drawn move (source, dest) with who may make it, per transition on it."""
    edges: dict[tuple[str, str], list[str]] = {}
    for transition in spec.transitions:
        if transition.dest is None:
            continue
        roles = "、".join(spec.role_label(r) for r in transition.roles)
        for source in expand_sources(spec, transition.source):
            if source != transition.dest:
                edges.setdefault((source, transition.dest), []).append(
                    f"{transition.label}：{roles}"
                )
    return edges


def dress_machine(machine: GraphMachine, spec: WorkflowSpec) -> None:
    """Set the machine's diagram attributes and styles: one style per state (its level's colour,
    a double border when final) and per edge (who may take it, as a tooltip), each with a
    `:current` and/or `:path` variant for a case's drawing."""
    font = {"fontname": FONT}
    nodes: dict[str, str | dict[str, Any]] = {
        "default": {"shape": "box", "style": "rounded,filled", "fontsize": "11", **font},
    }
    for state in spec.states:
        base = {
            "fillcolor": _level_colour(spec, state.level),
            "peripheries": "2" if state.final else "1",
        }
        nodes[f"state:{state.name}"] = base
        nodes[f"state:{state.name}:current"] = {
            **base,
            "color": CURRENT_COLOUR,
            "penwidth": "3",
            "fontcolor": CURRENT_COLOUR,
        }
        nodes[f"state:{state.name}:path"] = {**base, "color": PATH_COLOUR, "penwidth": "2"}
    edges: dict[str, str | dict[str, Any]] = {
        "default": {"fontsize": "9", "color": "#555555", **font},
    }
    for (source, dest), who in _edges(spec).items():
        tooltip = {"tooltip": "；".join(who)}
        edges[f"edge:{source}>{dest}"] = tooltip
        edges[f"edge:{source}>{dest}:path"] = {
            **tooltip,
            "color": PATH_COLOUR,
            "penwidth": "2.5",
            "fontcolor": PATH_COLOUR,
        }
    machine.machine_attributes = {
        "rankdir": "TB",
        "labelloc": "t",
        **font,
    }
    machine.style_attributes = {"node": nodes, "edge": edges, "graph": {"default": font}}


class SpecGraph(Graph):
    """One drawing of a compiled spec: the extension's graphviz Graph, with each state and edge
    in its own style, the current state's caption marked, and steps that keep the case in its
    state left out (their captions list them)."""

    def __init__(
        self,
        machine: GraphMachine,
        current: str | None = None,
        path: Collection[tuple[str, str]] = (),
    ) -> None:
        self.current = current
        super().__init__(cast(Any, machine))
        visited = {state for move in path for state in move}
        for name in machine.states:
            mark = ":current" if name == current else ":path" if name in visited else ""
            self.set_node_style(name, f"state:{name}{mark}")
        styles = machine.style_attributes["edge"]
        assert isinstance(styles, dict)
        edge_styles = cast(dict[str, dict[str, str]], self.custom_styles["edge"])
        for style in styles:
            if style.startswith("edge:") and not style.endswith(":path"):
                source, dest = style.removeprefix("edge:").split(">")
                mark = ":path" if (source, dest) in path else ""
                edge_styles[source][dest] = f"{style}{mark}"

    def _get_elements(self) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        states, transitions = super()._get_elements()
        drawn = [t for t in transitions if t.get("dest", t["source"]) != t["source"]]
        return states, drawn

    def _convert_state_attributes(self, state: dict[str, str]) -> str:
        caption = super()._convert_state_attributes(state)
        return f"▶ 当前：{caption}" if state["name"] == self.current else caption


def to_dot(
    compiled: CompiledSpec,
    *,
    current: str | None = None,
    path: Collection[tuple[str, str]] = (),
) -> str:
    """DOT source for the spec, drawn from its machine by transitions' diagram extension.

    Args:
        compiled: the flow version.
        current: a case's state, drawn in red with a heavy border.
        path: the (source, dest) moves the case made, drawn heavy in blue.

    Returns:
        Text for `dot -Tsvg`.
    """
    machine = compiled.machine
    with _markup_lock:
        graph: Any = SpecGraph(machine, current, path).get_graph()
    graph.node("__start", shape="point", width="0.15", label="")
    graph.edge("__start", compiled.spec.initial)
    return cast(str, graph.source)

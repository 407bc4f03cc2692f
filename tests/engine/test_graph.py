"""Flow diagrams come from transitions' diagram extension, drawn from the spec's own machine:
Chinese captions and edge labels, a case's state and path marked, the machine left as it was."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from transitions.extensions.diagrams_graphviz import Graph

from api.wiring import load_registry
from engine.graph import CURRENT_COLOUR, PATH_COLOUR, SpecGraph, state_captions, to_dot

COMPILED = load_registry().get("standard", 1)


def _line(dot: str, start: str) -> str:
    """The DOT statement that starts with `start` (a node or an edge)."""
    return next(line.strip() for line in dot.splitlines() if line.strip().startswith(start))


def test_the_extension_draws_states_and_moves_in_chinese() -> None:
    assert issubclass(SpecGraph, Graph)
    dot = to_dot(COMPILED)
    assert dot.startswith('digraph "人民调解标准流程（v1）" {')
    intake = _line(dot, "intake [")
    assert 'label="受理登记\\l[受理]\\l' in intake
    assert 'fillcolor="#e8f1fb"' in intake
    assert "peripheries=2" in _line(dot, "closed [")  # a final state
    room = _line(dot, "intake -> mediation_room")
    assert "label=" in room
    assert "tooltip=" in room  # who may take the step
    assert "__start -> intake" in dot
    assert "（需理由）" in dot
    drawn = re.findall(r"^\s*(\w+) -> (\w+)", dot, re.M)
    assert drawn
    assert all(source != dest for source, dest in drawn)  # steps that stay are listed, not drawn
    assert "—\\l" in intake  # the list of those steps inside the box
    assert CURRENT_COLOUR not in dot
    assert PATH_COLOUR not in dot


def test_a_state_s_session_limit_is_captioned_in_neutral_words() -> None:
    """The engine says how many times a state may be worked through; the label says what."""
    captions = state_captions(load_registry().get("court_entrusted", 1).spec)
    assert captions["mediation_room"].startswith("委托调解")
    assert "至多办理 3 次" in captions["mediation_room"]


def test_a_case_drawing_marks_its_state_and_path_and_leaves_the_machine_alone() -> None:
    before = to_dot(COMPILED)
    dot = to_dot(COMPILED, current="mediation_room", path={("intake", "central_household")})
    current = _line(dot, "mediation_room [")
    assert 'label="▶ 当前：调解室调解' in current
    assert CURRENT_COLOUR in current
    assert PATH_COLOUR in _line(dot, "intake [")  # visited
    assert PATH_COLOUR in _line(dot, "intake -> central_household")
    assert PATH_COLOUR not in _line(dot, "intake -> mediation_room")
    assert to_dot(COMPILED) == before  # one case's marks stay in its own drawing
    assert COMPILED.machine.models == []


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_renders_each_caption_line_as_its_own_text() -> None:
    done = subprocess.run(
        ["dot", "-Tsvg"], input=to_dot(COMPILED).encode(), capture_output=True, check=True
    )
    svg = done.stdout.decode()
    assert "\\l" not in svg
    assert "\\n" not in svg
    assert ">受理登记</text>" in svg
    assert ">[受理]</text>" in svg

"""Flow diagrams as SVG: a flow version, or one case's flow with where it is and how it got
there. Graphviz's `dot` draws them; pages, routes and the CLI share this one function."""

from __future__ import annotations

import shutil
import subprocess

from api.errors import GraphUnavailable
from engine.graph import to_dot
from engine.records import Actor
from mediation.engine import MediationEngine


def render_svg(dot_source: str) -> bytes:
    """Raises:
    GraphUnavailable: Graphviz is missing or failed.
    """
    dot = shutil.which("dot")
    if dot is None:
        raise GraphUnavailable("服务器未安装 Graphviz（dot），无法生成流程图")
    done = subprocess.run(  # a fixed executable; the DOT text goes in on stdin
        [dot, "-Tsvg"],
        input=dot_source.encode(),
        capture_output=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        raise GraphUnavailable(f"Graphviz 出错：{done.stderr.decode(errors='replace')[:200]}")
    return done.stdout


def case_graph_svg(engine: MediationEngine, case_id: int, actor: Actor) -> bytes:
    """The case's flow with its current state and the path it took highlighted.

    Raises:
        CaseNotFound: missing or out of the actor's scope (the same answer).
    """
    case = engine.get_case(case_id, actor)
    events = engine.history(case_id, actor)
    path = {
        (e.source_state, e.dest_state)
        for e in events
        if e.source_state is not None and e.source_state != e.dest_state
    }
    compiled = engine.registry.get(case.spec_id, case.spec_version)
    return render_svg(to_dot(compiled, current=case.state, path=path))

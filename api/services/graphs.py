"""A flow drawn as SVG by Graphviz `dot`, for the API's graph route and the case page (with
the case's state highlighted). Specs never change once published, so drawings are cached."""

from __future__ import annotations

import shutil
import subprocess
import threading

from api.errors import GraphUnavailable
from engine.graph import to_dot
from engine.spec import WorkflowSpec

_cache: dict[tuple[str, int, str | None], bytes] = {}
_lock = threading.Lock()


def graph_svg(spec: WorkflowSpec, current: str | None = None) -> bytes:
    """Raises:
    GraphUnavailable: Graphviz is not installed or failed.
    """
    key = (spec.id, spec.version, current)
    svg = _cache.get(key)
    if svg is not None:
        return svg
    dot = shutil.which("dot")
    if dot is None:
        raise GraphUnavailable("服务器未安装 Graphviz（dot），无法生成流程图")
    done = subprocess.run(  # a fixed executable; the DOT text goes in on stdin
        [dot, "-Tsvg"],
        input=to_dot(spec, current=current).encode(),
        capture_output=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        raise GraphUnavailable(f"Graphviz 出错：{done.stderr.decode(errors='replace')[:200]}")
    with _lock:
        _cache[key] = done.stdout
    return done.stdout

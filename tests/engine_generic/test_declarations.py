"""Roles and levels are what a spec, or the deployment, declares: the engine has none of
its own but the timer tick's `system`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine import DefinitionError, Registry
from engine.fields import Vocabulary
from tests.engine_generic.conftest import FLOWS
from tests.engine_generic.hooks import HOOKS

LEAVE = (FLOWS / "leave_request" / "v1.yaml").read_text(encoding="utf-8")


def _load(tmp_path: Path, text: str, registry: Registry | None = None) -> Registry:
    folder = tmp_path / "leave_request"
    folder.mkdir(exist_ok=True)
    (folder / "v1.yaml").write_text(text, encoding="utf-8")
    registry = registry or Registry(HOOKS)
    registry.load_file(folder / "v1.yaml")
    return registry


def test_a_transition_naming_an_undeclared_role_fails_at_load(tmp_path: Path) -> None:
    text = LEAVE.replace("roles: [manager, director]", "roles: [manager, directer]")
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, text)
    assert "角色“directer”未声明" in caught.value.message_zh
    assert caught.value.hint == "改为“director”"
    line = next(n for n, t in enumerate(text.splitlines(), start=1) if "directer" in t)
    assert caught.value.line == line


def test_a_state_at_an_undeclared_level_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="层级“divison”未声明"):
        _load(tmp_path, LEAVE.replace("level: division", "level: divison"))


def test_the_deployment_declares_roles_and_levels_a_spec_leaves_out(tmp_path: Path) -> None:
    """Without `roles:` / `levels:` the spec takes the deployment's vocabularies of those
    names: relabelling them is a data file, not a change to the engine."""
    head, _, rest = LEAVE.partition("roles:\n")
    text = head + rest[rest.index("states:") :]
    with pytest.raises(DefinitionError, match="角色“employee”未声明"):
        _load(tmp_path, text)
    roles = Vocabulary.model_validate(
        {
            "name": "roles",
            "label": "角色",
            "options": [
                {"code": "employee", "label": "职员"},
                {"code": "manager", "label": "主管"},
                {"code": "director", "label": "总监"},
            ],
        }
    )
    levels = Vocabulary.model_validate(
        {
            "name": "levels",
            "label": "层级",
            "options": [{"code": "team", "label": "班组"}, {"code": "division", "label": "部门"}],
        }
    )
    spec = _load(tmp_path, text, Registry(HOOKS, {"roles": roles, "levels": levels})).latest(
        "leave_request"
    )
    assert spec.spec.role_label("manager") == "主管"
    assert spec.spec.role_label("system") == "系统"
    assert [spec.spec.level_rank(level) for level in ("team", "division")] == [0, 1]


def test_the_flows_here_need_nothing_of_mediation() -> None:
    """The engine, these hooks and these flows, loaded alone: no workflows, api or
    mediation module comes with them."""
    probe = (
        "import sys; import engine.runtime, engine.timers, tests.engine_generic.conftest; "
        "from engine import Registry; "
        "from tests.engine_generic.conftest import FLOWS, HOOKS; "
        "Registry.from_directory(FLOWS, HOOKS); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'workflows', 'api', 'mediation', 'documents'}))"
    )
    root = Path(__file__).parents[2]
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"

"""Specs load, and a broken spec fails at load naming the file, the line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.wiring import REQUIREMENTS
from engine.errors import DefinitionError
from engine.registry import VOCABULARY_DIR, Registry, load_vocabularies
from mediation.spec import RiskLevelSpec, mediation_spec
from workflows import HOOKS, WORKFLOWS_DIR

VOCABULARIES = load_vocabularies(WORKFLOWS_DIR / VOCABULARY_DIR)

GOOD = (WORKFLOWS_DIR / "standard" / "v1.yaml").read_text(encoding="utf-8")


def _edit(old: str, new: str, count: int = -1) -> str:
    """The standard spec with a piece replaced; the piece must be there, or the test would
    quietly check the unchanged spec."""
    assert old in GOOD, old
    return GOOD.replace(old, new, count)


def _load(tmp_path: Path, text: str, key: str = "standard", version: int = 1) -> Registry:
    folder = tmp_path / key
    folder.mkdir(exist_ok=True)
    file = folder / f"v{version}.yaml"
    file.write_text(text, encoding="utf-8")
    registry = Registry(HOOKS, VOCABULARIES, REQUIREMENTS)
    registry.load_file(file)
    return registry


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_shipped_specs_load_and_build_one_machine_each() -> None:
    registry = Registry.from_directory(WORKFLOWS_DIR, HOOKS)
    keys = {compiled.key for compiled in registry.all()}
    assert {("standard", 1), ("standard", 2), ("court_referral", 1), ("court_referral", 2)} <= keys
    assert ("court_entrusted", 1) in keys
    standard = registry.latest("standard")
    assert standard.spec.version == 2  # new cases get the latest; v1 cases keep v1
    assert standard.machine.auto_transitions is False
    assert standard.machine.models == []  # cases are never attached to it
    assert registry.get("standard", 2) is standard  # built once, shared by every case


def test_unknown_guard_names_file_line_and_suggestion(tmp_path: Path) -> None:
    broken = _edit(
        "guards: [grid_assigned, risk_allows_dest_level]",
        "guards: [grid_asigned, risk_allows_dest_level]",
    )
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, broken)
    error = caught.value
    assert error.file.endswith("standard/v1.yaml")
    assert error.line == _line_of(broken, "grid_asigned")
    assert error.hint == "改为“grid_assigned”"
    assert "守卫条件“grid_asigned”未注册" in error.message_zh


def test_unknown_key_is_rejected_with_its_line(tmp_path: Path) -> None:
    broken = _edit("    label: 交中心户调解\n", "    label: 交中心户调解\n    lable: 笔误\n")
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, broken)
    assert caught.value.line == _line_of(broken, "lable:")
    assert "未知的键“lable”" in caught.value.message_zh


def test_unknown_dest_state_suggests_the_close_one(tmp_path: Path) -> None:
    broken = _edit("dest: jc_reviewing", "dest: jc_reveiwing")
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, broken)
    assert caught.value.line == _line_of(broken, "jc_reveiwing")
    assert caught.value.hint == "改为“jc_reviewing”"


def test_unreachable_state_is_named(tmp_path: Path) -> None:
    broken = _edit(
        "  - {name: confirmed, label: 裁定确认有效}",
        "  - {name: confirmed, label: 裁定确认有效}\n"
        "  - {name: limbo, label: 无人可达, final: true}",
    )
    with pytest.raises(DefinitionError, match="“limbo”从初始状态无法到达") as caught:
        _load(tmp_path, broken)
    assert caught.value.line == _line_of(broken, "limbo")


def test_an_outcome_belongs_to_final_states_only(tmp_path: Path) -> None:
    broken = _edit(
        "  - {name: confirmed, label: 裁定确认有效}",
        "  - {name: confirmed, label: 裁定确认有效, outcome: failed}",
    )
    with pytest.raises(DefinitionError, match="只有终态可以设置 outcome") as caught:
        _load(tmp_path, broken)
    assert caught.value.line == _line_of(broken, "outcome: failed")


def test_an_outcome_mediation_does_not_count_is_refused_naming_it(tmp_path: Path) -> None:
    """The engine takes any outcome a flow names; mediation refuses one its statistics do
    not count (R-STATS), at the state's line."""
    broken = _edit("final: true, outcome: failed}", "final: true, outcome: faild}")
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, broken)
    assert "未知的结案结果“faild”（状态“terminated”）" in caught.value.message_zh
    assert caught.value.line == _line_of(broken, "outcome: faild")
    assert caught.value.hint == "改为“failed”"


def test_non_final_dead_end_is_rejected(tmp_path: Path) -> None:
    broken = _edit(
        "  - {name: confirmed, label: 裁定确认有效}",
        "  - {name: confirmed, label: 裁定确认有效}\n  - {name: stuck, label: 卡住}",
    )
    broken += (
        "  - {trigger: get_stuck, label: 卡住, source: followup, dest: stuck, roles: [mediator]}\n"
    )
    with pytest.raises(DefinitionError, match="非终态“stuck”没有任何出路"):
        _load(tmp_path, broken)


def test_duplicate_trigger_from_one_source_is_rejected(tmp_path: Path) -> None:
    broken = _edit("  - trigger: accept_at_room\n", "  - trigger: route_to_grid\n")
    with pytest.raises(DefinitionError, match="触发器“route_to_grid”重复"):
        _load(tmp_path, broken)


def test_deadline_must_expire_into_a_trigger_of_that_state_or_an_action(tmp_path: Path) -> None:
    broken = _edit(
        "deadline: {days: 7, on_expiry: escalate,", "deadline: {days: 7, on_expiry: confirm,"
    )
    with pytest.raises(DefinitionError, match="期限到期后执行的“confirm”") as caught:
        _load(tmp_path, broken)
    assert caught.value.line == _line_of(broken, "on_expiry: confirm")


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    broken = _edit("title: 人民调解标准流程", "title: [人民调解标准流程")
    with pytest.raises(DefinitionError, match="YAML 语法错误") as caught:
        _load(tmp_path, broken)
    assert caught.value.line is not None


def test_duplicate_yaml_key_is_rejected(tmp_path: Path) -> None:
    broken = _edit("title: 人民调解标准流程\n", "title: 人民调解标准流程\ntitle: 又一个\n")
    with pytest.raises(DefinitionError, match="键“title”重复") as caught:
        _load(tmp_path, broken)
    assert caught.value.line == _line_of(broken, "title: 又一个")


def test_file_name_must_match_version(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match=r"改名为 v1\.yaml"):
        _load(tmp_path, GOOD, version=2)


def test_unknown_role_is_rejected(tmp_path: Path) -> None:
    broken = _edit("roles: [court_clerk, judge]", "roles: [court_clerk, juge]", 1)
    with pytest.raises(DefinitionError, match="roles") as caught:
        _load(tmp_path, broken)
    assert caught.value.line == _line_of(broken, "juge")


def test_a_cycle_that_never_reaches_an_end_is_refused_naming_its_states(tmp_path: Path) -> None:
    """Two states that lead only to each other would hold a case for ever."""
    trap = """  - trigger: into_the_trap
    label: 进入循环
    source: intake
    dest: mediation_room_again
    roles: [mediator]
  - trigger: round_and_round
    label: 来回
    source: mediation_room_again
    dest: mediation_room_twice
    roles: [mediator]
  - trigger: and_back
    label: 返回
    source: mediation_room_twice
    dest: mediation_room_again
    roles: [mediator]
"""
    broken = _edit(
        "  - {name: closed, label: 已结案, level: closed, final: true}",
        "  - {name: mediation_room_again, label: 循环甲}\n"
        "  - {name: mediation_room_twice, label: 循环乙}\n"
        "  - {name: closed, label: 已结案, level: closed, final: true}",
    ).replace("\ntransitions:\n", "\ntransitions:\n" + trap, 1)
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, broken)
    error = caught.value
    assert "“mediation_room_again”、“mediation_room_twice”无法到达任何终态" in error.message_zh
    assert error.line == _line_of(broken, "name: mediation_room_again")
    assert error.file.endswith("standard/v1.yaml")


def test_a_field_naming_an_unknown_vocabulary_is_refused(tmp_path: Path) -> None:
    broken = _edit("vocabulary: termination_reasons", "vocabulary: termination_reason")
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, broken)
    assert "词表“termination_reason”不存在" in caught.value.message_zh
    assert caught.value.hint == "改为“termination_reasons”"


def test_a_service_step_the_service_does_not_perform_is_refused(tmp_path: Path) -> None:
    broken = _edit(
        "    actions: [urge_performance]\n",
        "    actions: [urge_performance]\n    service: documents\n",
    )
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, broken)
    assert "服务“documents”不执行触发器“urge_performance”" in caught.value.message_zh


def test_renaming_a_trigger_the_code_relies_on_fails_at_start_up(tmp_path: Path) -> None:
    """Renaming apply_seal must stop the server, not quietly zero the statistics."""
    root = tmp_path / "workflows"
    for source in [*WORKFLOWS_DIR.glob("*/v*.yaml"), *WORKFLOWS_DIR.glob("vocabularies/*.yaml")]:
        target = root / source.parent.name / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8")
        target.write_text(text.replace("trigger: apply_seal", "trigger: apply_stamp"), "utf-8")
    with pytest.raises(DefinitionError) as caught:
        Registry.from_directory(root, HOOKS, REQUIREMENTS)
    assert "服务“documents”不执行触发器“apply_stamp”" in caught.value.message_zh
    assert caught.value.hint == "改为“apply_seal”"


def test_a_state_the_court_queue_relies_on_must_exist(tmp_path: Path) -> None:
    root = tmp_path / "workflows"
    for source in [*WORKFLOWS_DIR.glob("*/v*.yaml"), *WORKFLOWS_DIR.glob("vocabularies/*.yaml")]:
        target = root / source.parent.name / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text(encoding="utf-8").replace("jc_applied", "jc_filed"))
    with pytest.raises(DefinitionError) as caught:
        Registry.from_directory(root, HOOKS, REQUIREMENTS)
    assert "程序依赖的状态“jc_applied”在任何流程中都不存在" in caught.value.message_zh
    assert caught.value.hint == "把“jc_filed”改回“jc_applied”"


def test_mediation_s_keys_are_validated_by_its_model_at_their_line(tmp_path: Path) -> None:
    broken = _edit("lowest_level: community}", "lowest_level: community, report: true}")
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, broken)
    assert "未知的键“report”（risk_levels.2.report）" in caught.value.message_zh
    assert caught.value.line == _line_of(broken, "report: true")
    spec = _load(tmp_path, GOOD).latest("standard").spec
    assert mediation_spec(spec).risk("red") == RiskLevelSpec(
        code="red", label="红色（特别重大）", lowest_level="street", report_to_police=True
    )


def test_a_risk_level_handled_at_an_undeclared_level_is_refused(tmp_path: Path) -> None:
    broken = _edit("lowest_level: street,", "lowest_level: stret,")
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, broken)
    assert "层级“stret”未声明（risk_levels.3.lowest_level）" in caught.value.message_zh
    assert caught.value.line == _line_of(broken, "stret")
    assert caught.value.hint == "改为“street”"


def test_a_risk_code_given_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="风险等级代码重复"):
        _load(tmp_path, _edit("{code: yellow,", "{code: blue,"))


def test_an_origin_outside_the_deployment_s_is_refused(tmp_path: Path) -> None:
    text = _edit("risk_levels:  ", "origins: [party_application, walk_in]\nrisk_levels:  ")
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, text)
    assert "未知的案件来源“walk_in”" in caught.value.message_zh
    assert caught.value.line == _line_of(text, "walk_in")

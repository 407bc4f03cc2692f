"""A spec file says what the engine reads and what its host declares, nothing else: a host
adds top-level keys with a model of its own (validated when the registry loads the file,
failing with file and line like the engine's keys) and load-time checks of them; the engine
itself names none of mediation's keys."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

import engine
from engine import DefinitionError, Registry
from engine.fields import Vocabulary
from engine.hooks import HookSet
from engine.spec import Fail, SpecExtension, WorkflowSpec

EXPENSE = """\
id: expense
version: 1
title: 报销
initial: submitted
open_roles: [clerk]
roles: {clerk: 职员, manager: 经理}
levels: {office: 办公室}
states:
  - {name: submitted, label: 待审批, level: office}
  - {name: paid, label: 已支付, final: true}
transitions:
  - {trigger: pay, label: 支付, source: submitted, dest: paid, roles: [manager]}
"""


class ExpenseRules(BaseModel):
    """The host's own keys of an expense flow."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limit_yuan: int = Field(default=1000, gt=0, le=100_000)
    approvers: tuple[str, ...] = ()


def _approvers_are_roles(
    spec: WorkflowSpec, vocabularies: Mapping[str, Vocabulary], fail: Fail
) -> None:
    del vocabularies
    assert isinstance(spec.extension, ExpenseRules)
    for index, role in enumerate(spec.extension.approvers):
        if role not in spec.roles:
            fail(("approvers", index), f"审批角色“{role}”未声明", "在 roles 中声明它")


HOST = HookSet(extension=SpecExtension(ExpenseRules, checks=(_approvers_are_roles,)))


def _load(tmp_path: Path, text: str, hooks: HookSet) -> WorkflowSpec:
    folder = tmp_path / "expense"
    folder.mkdir(exist_ok=True)
    (folder / "v1.yaml").write_text(text, encoding="utf-8")
    return Registry(hooks).load_file(folder / "v1.yaml").spec


def _line(text: str, needle: str) -> int:
    return next(n for n, t in enumerate(text.splitlines(), start=1) if needle in t)


def test_a_host_may_not_redeclare_a_key_of_the_engine() -> None:
    class Retitled(BaseModel):
        title: str = ""

    with pytest.raises(ValueError, match="title"):
        SpecExtension(Retitled)


def test_a_key_nobody_declares_is_refused_with_its_line(tmp_path: Path) -> None:
    text = EXPENSE + "limit_yuan: 500\n"
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, text, HookSet())
    assert "未知的键“limit_yuan”" in caught.value.message_zh
    assert caught.value.line == _line(text, "limit_yuan")
    assert caught.value.hint == "删除它或检查拼写"
    with pytest.raises(DefinitionError, match="未知的键“limit_yen”"):
        _load(tmp_path, EXPENSE + "limit_yen: 500\n", HOST)


def test_the_engine_s_carrier_of_the_host_keys_is_no_key_of_a_file(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="未知的键“extension”"):
        _load(tmp_path, EXPENSE + "extension: {limit_yuan: 500}\n", HOST)


def test_the_host_model_validates_its_keys(tmp_path: Path) -> None:
    spec = _load(tmp_path, EXPENSE + "limit_yuan: 500\napprovers: [manager]\n", HOST)
    assert spec.extension == ExpenseRules(limit_yuan=500, approvers=("manager",))
    definition = spec.definition()  # what GET /workflows/{id}/{version} shows
    assert (definition["limit_yuan"], definition["approvers"]) == (500, ["manager"])
    assert "extension" not in definition
    assert _load(tmp_path, EXPENSE, HOST).extension == ExpenseRules()  # the model's defaults
    assert _load(tmp_path, EXPENSE, HookSet()).extension is None


def test_a_host_key_of_the_wrong_value_fails_at_its_line(tmp_path: Path) -> None:
    text = EXPENSE + "limit_yuan: 0\n"
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, text, HOST)
    assert "“limit_yuan”的值无效" in caught.value.message_zh
    assert caught.value.line == _line(text, "limit_yuan")


def test_the_host_checks_its_keys_at_load(tmp_path: Path) -> None:
    text = EXPENSE + "approvers:\n  - manager\n  - director\n"
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, text, HOST)
    assert "审批角色“director”未声明" in caught.value.message_zh
    assert caught.value.line == _line(text, "- director")
    assert caught.value.hint == "在 roles 中声明它"


MEDIATION_WORDS = (
    "risk_levels",
    "RiskLevelSpec",
    "representation_age",
    "own_act_signing",
    "referring_court_required",
    "signatories",
    "ORIGINS_VOCABULARY",
    "followup_days",
    "visit_grace_days",
    "法院裁定服务",
    "not_mediated",  # mediation's statistics outcomes (mediation/spec.py Outcome)
    "调解不成",
    "至多调解",  # a state's max_sessions reads "至多办理 n 次" in the diagram
)


def test_the_engine_names_none_of_mediation_s_spec_keys() -> None:
    """Mediation's keys, its statistics outcomes, its follow-up policy and its services'
    labels live on its side (mediation/spec.py, mediation/policy.py, api/wiring.py), not in
    the engine."""
    root = Path(engine.__file__).parent
    found = {
        str(path.relative_to(root.parent)): words
        for path in sorted(root.rglob("*.py"))
        if (words := [w for w in MEDIATION_WORDS if w in path.read_text(encoding="utf-8")])
    }
    assert found == {}

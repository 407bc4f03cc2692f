"""What a mediation flow's spec says beyond the engine's keys: its risk scale (R-RISK), the
origins it accepts (R-SOURCE), who must be named at intake, and how its papers are signed.

The published files keep these as top-level keys; the registry validates them with
MediationSpec (MEDIATION_SPEC, declared on the flows' HookSet) and the spec carries the
result, read through `mediation_spec(spec)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from engine.checks import did_you_mean
from engine.fields import Vocabulary
from engine.spec import Fail, Identifier, SpecExtension, WorkflowSpec

ORIGINS_VOCABULARY = "origins"  # where cases come from, when a spec limits them


class Outcome(StrEnum):
    """How a case ending in a final state without an agreement counts in the statistics
    (R-STATS), as a state's `outcome` names it; a case that reached an agreement counts as
    successful wherever it ends."""

    failed = "failed"  # mediated, no agreement (调解不成)
    not_mediated = "not_mediated"  # refused or inadmissible: never mediated


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class RiskLevelSpec(_Frozen):
    """One step of the risk scale (R-RISK); `lowest_level` is where such a case may be handled."""

    code: Identifier
    label: str
    lowest_level: Identifier = "grid"
    report_to_police: bool = False
    visit_every_days: int | None = Field(default=None, gt=0, le=365)  # periodic follow-up


class MediationSpec(_Frozen):
    """Mediation's own keys of a workflow spec."""

    risk_levels: tuple[RiskLevelSpec, ...] = ()
    origins: tuple[str, ...] = ()  # allowed R-SOURCE origins; empty: any
    referring_court_required: bool = False  # court-delegated flows report back to the court
    # persons under this age act through a legal representative recorded as a person at intake
    representation_age: int | None = Field(default=None, ge=1, le=30)
    signatories: tuple[str, ...] = ("parties", "mediator", "seal")
    # R-ESIGN: signatures are the signer's own act (identity check, event certificate);
    # False keeps the platform-held keys of the versions published before it (v1)
    own_act_signing: bool = False

    def risk(self, code: str) -> RiskLevelSpec | None:
        return next((r for r in self.risk_levels if r.code == code), None)


_DEFAULT = MediationSpec()


def mediation_spec(spec: WorkflowSpec) -> MediationSpec:
    """The mediation keys of a spec; their defaults for a spec loaded without them."""
    extension = spec.extension
    if extension is None:
        return _DEFAULT
    if not isinstance(extension, MediationSpec):
        raise TypeError(f"{spec.id} v{spec.version} was not loaded with MEDIATION_SPEC")
    return extension


def _check_risk_levels(
    spec: WorkflowSpec, vocabularies: Mapping[str, Vocabulary], fail: Fail
) -> None:
    """Risk codes are unique and each names the lowest level declared for the spec."""
    del vocabularies
    risk_levels = mediation_spec(spec).risk_levels
    for index, risk in enumerate(risk_levels):
        if risk.lowest_level not in spec.levels:
            hint = did_you_mean(risk.lowest_level, spec.levels)
            fail(
                ("risk_levels", index, "lowest_level"),
                f"层级“{risk.lowest_level}”未声明（risk_levels.{index}.lowest_level）",
                f"改为“{hint}”" if hint else "在 levels 中声明它",
            )
    codes = [r.code for r in risk_levels]
    if len(set(codes)) != len(codes):
        fail(("risk_levels",), "风险等级代码重复", "每个 code 只能出现一次")


def _check_origins(spec: WorkflowSpec, vocabularies: Mapping[str, Vocabulary], fail: Fail) -> None:
    """Every origin a spec accepts is one of the deployment's (R-SOURCE)."""
    origins = vocabularies.get(ORIGINS_VOCABULARY)
    codes = [] if origins is None else [o.code for o in origins.options]
    for index, origin in enumerate(mediation_spec(spec).origins):
        if origin not in codes:
            hint = did_you_mean(origin, codes)
            fail(("origins", index), f"未知的案件来源“{origin}”", f"改为“{hint}”" if hint else None)


def _check_outcomes(spec: WorkflowSpec, vocabularies: Mapping[str, Vocabulary], fail: Fail) -> None:
    """Every final state's outcome is one the statistics count (R-STATS)."""
    del vocabularies
    known = [o.value for o in Outcome]
    for index, state in enumerate(spec.states):
        if state.outcome is not None and state.outcome not in known:
            hint = did_you_mean(state.outcome, known)
            fail(
                ("states", index, "outcome"),
                f"未知的结案结果“{state.outcome}”（状态“{state.name}”）",
                f"改为“{hint}”" if hint else "改为 " + " 或 ".join(known),
            )


MEDIATION_SPEC = SpecExtension(
    MediationSpec, checks=(_check_origins, _check_risk_levels, _check_outcomes)
)

"""Static checks run when a spec loads: every name resolves, every state is reachable, no
dead ends, deadlines expire into something real. Each failure names the file, the line and
what to change, so a broken spec fails at start-up and never in front of a mediator."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NoReturn

from engine.errors import DefinitionError
from engine.fields import FieldSpec, FieldType, Vocabulary, is_reference
from engine.hooks import HookSet
from engine.spec import (
    LEVELS_VOCABULARY,
    ROLES_VOCABULARY,
    SYSTEM_ROLE,
    ReminderSpec,
    SpecExtension,
    WorkflowSpec,
)

LineMap = Mapping[tuple[str | int, ...], int]


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The closest known name, for hints."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def line_of(lines: LineMap, path: tuple[str | int, ...]) -> int | None:
    """The line of `path`, or of its nearest ancestor present in the map."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get((), None)


def expand_sources(spec: WorkflowSpec, sources: tuple[str, ...]) -> tuple[str, ...]:
    """'*' means every non-final state."""
    if "*" in sources:
        return tuple(s.name for s in spec.states if not s.final)
    return sources


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)


def declare(
    spec: WorkflowSpec, vocabularies: Mapping[str, Vocabulary], file: Path, lines: LineMap
) -> WorkflowSpec:
    """The spec with its roles and levels declared: its own `roles:` / `levels:`, else the
    deployment's vocabularies of those names. Every role a transition or `open_roles` names
    and every level a state names must be declared (`system`, the timer tick, always is).

    Raises:
        DefinitionError: an undeclared role or level, naming file and line.
    """
    where = str(file)
    update: dict[str, dict[str, str]] = {}
    for field, vocabulary in (("roles", ROLES_VOCABULARY), ("levels", LEVELS_VOCABULARY)):
        if not getattr(spec, field) and vocabulary in vocabularies:
            update[field] = vocabularies[vocabulary].labels()
    if update:
        spec = spec.model_copy(update=update)
    roles = {*spec.roles, SYSTEM_ROLE}
    used: list[tuple[tuple[str | int, ...], str]] = [
        (("open_roles", i), role) for i, role in enumerate(spec.open_roles)
    ]
    for t_index, transition in enumerate(spec.transitions):
        used.extend(
            (("transitions", t_index, "roles", i), role) for i, role in enumerate(transition.roles)
        )
    for path, role in used:
        if role not in roles:
            hint = did_you_mean(role, roles)
            raise DefinitionError(
                f"角色“{role}”未声明（{_dotted(path)}）",
                file=where,
                line=line_of(lines, path),
                hint=f"改为“{hint}”" if hint else "在 roles 中声明它",
            )
    levels: list[tuple[tuple[str | int, ...], str]] = [
        (("states", i, "level"), state.level)
        for i, state in enumerate(spec.states)
        if state.level is not None
    ]
    for path, level in levels:
        if level not in spec.levels:
            hint = did_you_mean(level, spec.levels)
            raise DefinitionError(
                f"层级“{level}”未声明（{_dotted(path)}）",
                file=where,
                line=line_of(lines, path),
                hint=f"改为“{hint}”" if hint else "在 levels 中声明它",
            )
    return spec


def check_spec(
    spec: WorkflowSpec,
    hooks: HookSet,
    file: Path,
    lines: LineMap,
) -> None:
    """Raise DefinitionError on the first problem found, naming file and line.

    Raises:
        DefinitionError: the spec cannot be run as written.
    """
    where = str(file)

    def fail(path: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        raise DefinitionError(message, file=where, line=line_of(lines, path), hint=hint)

    _check_file_name(spec, file, fail)
    names = [s.name for s in spec.states]
    seen: set[str] = set()
    for index, state in enumerate(spec.states):
        if state.name in seen:
            fail(("states", index, "name"), f"状态“{state.name}”重复定义", "每个状态名只能出现一次")
        seen.add(state.name)

    def known_state(name: str, path: tuple[str | int, ...], what: str) -> None:
        if name not in seen:
            hint = did_you_mean(name, names)
            fail(
                path,
                f"{what}“{name}”不是已定义的状态",
                f"改为“{hint}”" if hint else "先在 states 中定义它",
            )

    known_state(spec.initial, ("initial",), "初始状态")

    outgoing: dict[str, set[str]] = {name: set() for name in names}
    edges: dict[str, set[str]] = {name: set() for name in names}
    for t_index, transition in enumerate(spec.transitions):
        base: tuple[str | int, ...] = ("transitions", t_index)
        if transition.dest is not None:
            known_state(transition.dest, (*base, "dest"), "目标状态")
        if "*" in transition.source and len(transition.source) > 1:
            fail((*base, "source"), "“*”不能与其他来源状态并列", "只写 '*' 或列出具体状态")
        for s_index, source in enumerate(transition.source):
            if source != "*":
                known_state(source, (*base, "source", s_index), "来源状态")
                if spec.state(source).final:
                    fail((*base, "source"), f"终态“{source}”不能再有转换", "从 source 中删除它")
        for kind, table, hook_names in (
            ("guards", hooks.guards, transition.guards),
            ("actions", hooks.actions, transition.actions),
        ):
            for h_index, hook_name in enumerate(hook_names):
                if hook_name not in table:
                    hint = did_you_mean(hook_name, table)
                    label = "守卫条件" if kind == "guards" else "动作"
                    fail(
                        (*base, kind, h_index),
                        f"{label}“{hook_name}”未注册",
                        f"改为“{hint}”" if hint else f"在 workflows/{kind}.py 中注册它",
                    )
        for source in expand_sources(spec, transition.source):
            if transition.trigger in outgoing[source]:
                fail(
                    (*base, "trigger"),
                    f"状态“{source}”上的触发器“{transition.trigger}”重复",
                    "同一来源状态的触发器必须唯一；合并这两条转换或换一个名字",
                )
            outgoing[source].add(transition.trigger)
            edges[source].add(transition.dest or source)

    def reminder_action(reminder: ReminderSpec | None, where: tuple[str | int, ...]) -> None:
        if reminder is not None and reminder.action not in hooks.actions:
            hint = did_you_mean(reminder.action, hooks.actions)
            fail(
                where,
                f"提醒动作“{reminder.action}”未注册",
                f"改为“{hint}”" if hint else "在 workflows/actions/ 中注册它",
            )

    for index, state in enumerate(spec.states):
        path: tuple[str | int, ...] = ("states", index)
        if not state.final and not edges[state.name] - {state.name}:
            fail(
                path,
                f"非终态“{state.name}”没有任何出路",
                "增加一条通往其他状态的转换，或设为 final: true",
            )
        if state.deadline is not None:
            expiry = state.deadline.on_expiry
            if expiry not in outgoing[state.name] and expiry not in hooks.actions:
                hint = did_you_mean(expiry, [*outgoing[state.name], *hooks.actions])
                fail(
                    (*path, "deadline", "on_expiry"),
                    f"期限到期后执行的“{expiry}”既不是该状态可用的触发器，也不是已注册的动作",
                    f"改为“{hint}”" if hint else "填写该状态的触发器或一个动作",
                )
            reminder_action(state.deadline.reminder, (*path, "deadline", "reminder", "action"))

    for index, clock in enumerate(spec.clocks):
        for field in ("starts_in", "stops_in"):
            for s_index, name in enumerate(getattr(clock, field)):
                known_state(name, ("clocks", index, field, s_index), "时钟状态")
        if clock.on_expiry not in hooks.actions:
            hint = did_you_mean(clock.on_expiry, hooks.actions)
            fail(
                ("clocks", index, "on_expiry"),
                f"时钟到期动作“{clock.on_expiry}”未注册",
                f"改为“{hint}”" if hint else "在 workflows/actions/ 中注册它",
            )
        reminder_action(clock.reminder, ("clocks", index, "reminder", "action"))

    reachable = {spec.initial}
    frontier = [spec.initial]
    while frontier:
        for dest in edges[frontier.pop()]:
            if dest not in reachable:
                reachable.add(dest)
                frontier.append(dest)
    for index, state in enumerate(spec.states):
        if state.name not in reachable:
            fail(
                ("states", index, "name"),
                f"状态“{state.name}”从初始状态无法到达",
                "增加一条通向它的转换，或删除该状态",
            )

    # a case must never be trapped: from every state some final state is reachable
    finishing = {s.name for s in spec.states if s.final}
    changed = True
    while changed:
        changed = False
        for name, dests in edges.items():
            if name not in finishing and dests & finishing:
                finishing.add(name)
                changed = True
    trapped = [(i, s.name) for i, s in enumerate(spec.states) if s.name not in finishing]
    if trapped:
        listed = "、".join(f"“{name}”" for _, name in trapped)
        fail(
            ("states", trapped[0][0], "name"),
            f"状态{listed}无法到达任何终态：案件进入后将永远无法结束",
            "增加一条从这些状态通往终态（或通往能结束的状态）的转换",
        )


def check_host(
    spec: WorkflowSpec,
    extension: SpecExtension,
    vocabularies: Mapping[str, Vocabulary],
    file: Path,
    lines: LineMap,
) -> None:
    """The host's own checks of its keys (SpecExtension.checks), failing as the engine's do.

    Raises:
        DefinitionError: naming file, line and what to change.
    """
    where = str(file)

    def fail(path: tuple[str | int, ...], message: str, hint: str | None = None) -> NoReturn:
        raise DefinitionError(message, file=where, line=line_of(lines, path), hint=hint)

    for check in extension.checks:
        check(spec, vocabularies, fail)


def _check_file_name(spec: WorkflowSpec, file: Path, fail: object) -> None:
    expected = f"v{spec.version}.yaml"
    if file.name.startswith("v") and file.suffix == ".yaml":
        assert callable(fail)
        if file.name != expected:
            fail(
                ("version",),
                f"文件名 {file.name} 与版本号 {spec.version} 不符",
                f"改名为 {expected}",
            )
        if file.parent.name != spec.id:
            fail(("id",), f"流程 id “{spec.id}”与目录名“{file.parent.name}”不符", "使两者一致")


def check_fields(
    spec: WorkflowSpec,
    file: Path,
    lines: LineMap,
    *,
    vocabularies: Iterable[str],
    providers: Mapping[str, object],
    services: Mapping[str, frozenset[str]],
    document_kinds: frozenset[str],
) -> None:
    """Every declared field resolves: its vocabulary exists, its reference type has an
    option provider, its document kind is one the host stores; and every service a
    transition names performs that trigger.

    Raises:
        DefinitionError: naming file, line and what to change.
    """
    where = str(file)
    known_vocabularies = sorted(set(vocabularies))

    def fail(path: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        raise DefinitionError(message, file=where, line=line_of(lines, path), hint=hint)

    def check(field: FieldSpec, path: tuple[str | int, ...]) -> None:
        if field.type is FieldType.choice and field.vocabulary not in known_vocabularies:
            hint = did_you_mean(field.vocabulary or "", known_vocabularies)
            fail(
                (*path, "vocabulary"),
                f"字段“{field.name}”引用的词表“{field.vocabulary}”不存在",
                f"改为“{hint}”" if hint else "在 workflows/vocabularies/ 中增加该词表",
            )
        kind = field.of or field.type
        if is_reference(kind) and kind not in providers:
            fail((*path, "type"), f"字段类型“{kind}”没有可选项提供者", "在 workflows/ 中注册")
        if (
            field.document_kind is not None
            and document_kinds
            and (field.document_kind not in document_kinds)
        ):
            hint = did_you_mean(field.document_kind, document_kinds)
            fail(
                (*path, "document_kind"),
                f"文书种类“{field.document_kind}”不是文书服务保存的种类",
                f"改为“{hint}”" if hint else None,
            )
        for index, item in enumerate(field.fields):
            check(item, (*path, "fields", index))

    for t_index, transition in enumerate(spec.transitions):
        base: tuple[str | int, ...] = ("transitions", t_index)
        for f_index, field in enumerate(transition.fields):
            check(field, (*base, "fields", f_index))
        if transition.service is not None and services:
            performed = services.get(transition.service)
            if performed is None:
                hint = did_you_mean(transition.service, services)
                fail(
                    (*base, "service"),
                    f"未知的服务“{transition.service}”",
                    f"改为“{hint}”" if hint else f"可用：{'、'.join(sorted(services))}",
                )
            elif transition.trigger not in performed:
                hint = did_you_mean(transition.trigger, performed)
                fail(
                    (*base, "trigger"),
                    f"服务“{transition.service}”不执行触发器“{transition.trigger}”",
                    f"改为“{hint}”" if hint else f"该服务执行：{'、'.join(sorted(performed))}",
                )

"""Load workflows/ into key → version → compiled spec, failing with file and line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ValidationError

from engine.checks import (
    LineMap,
    check_fields,
    check_host,
    check_spec,
    declare,
    did_you_mean,
    line_of,
)
from engine.errors import DefinitionError
from engine.fields import FieldSpec, Option, Vocabulary
from engine.hooks import HookSet
from engine.machine import CompiledSpec, compile_spec
from engine.spec import ENGINE_KEYS, SpecExtension, WorkflowSpec

if TYPE_CHECKING:
    from engine.hooks import TransitionContext

VOCABULARY_DIR = "vocabularies"
# libyaml's safe loader when PyYAML was built with it: the flows are parsed ten times faster
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Requirements:
    """Names the host's code relies on, checked when the registry loads, so that renaming
    `apply_seal` in a YAML file fails at start-up instead of quietly zeroing a statistic.

    `services` maps a service to the triggers it performs; a transition naming that service
    must be one of them, and each must exist, naming the service, in some loaded spec.
    `service_labels` names a service in the people's words when its step is refused at
    the generic door.
    """

    services: Mapping[str, frozenset[str]] = field(default_factory=dict)
    service_labels: Mapping[str, str] = field(default_factory=dict)  # named in refusals
    triggers: frozenset[str] = frozenset()
    states: frozenset[str] = frozenset()
    document_kinds: frozenset[str] = frozenset()


def _line_map(
    node: yaml.Node, path: tuple[str | int, ...], lines: dict[Any, int], file: str
) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise DefinitionError(
                    f"键“{key}”重复",
                    file=file,
                    line=key_node.start_mark.line + 1,
                    hint="删除重复的键",
                )
            seen.add(key)
            _line_map(value_node, (*path, key), lines, file)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, index), lines, file)


def parse_spec_file(
    file: Path, extension: SpecExtension | None = None
) -> tuple[WorkflowSpec, LineMap]:
    """Parse one YAML file into a frozen WorkflowSpec and a map of paths to line numbers.

    The engine's keys make the spec; the others are the host's, validated by
    `extension.model` into `spec.extension`. A key neither declares is refused.

    Raises:
        DefinitionError: unreadable YAML, unknown keys, wrong types; with file and line.
    """
    where = str(file)
    try:
        text = file.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # a safe loader (libyaml's when built with it)
    except OSError as exc:
        raise DefinitionError(f"无法读取文件：{exc.strerror}", file=where) from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise DefinitionError(f"YAML 语法错误：{exc.problem}", file=where, line=line) from exc
    if node is None or not isinstance(data, dict):
        raise DefinitionError("文件为空或顶层不是映射", file=where, line=1, hint="以 id: 开头")
    lines: dict[Any, int] = {}
    _line_map(node, (), lines, where)
    host_keys = frozenset() if extension is None else extension.keys()
    ours = {key: value for key, value in data.items() if key in ENGINE_KEYS}
    theirs = {key: value for key, value in data.items() if key in host_keys}
    try:
        spec = WorkflowSpec.model_validate(ours)
    except ValidationError as exc:
        raise _invalid(exc, lines, where) from exc
    for key in data:
        if key not in ENGINE_KEYS and key not in host_keys:
            raise DefinitionError(
                f"未知的键“{key}”（{key}）",
                file=where,
                line=line_of(lines, (key,)),
                hint="删除它或检查拼写",
            )
    if extension is None:
        return spec, lines
    try:
        host: BaseModel = extension.model.model_validate(theirs)
    except ValidationError as exc:
        raise _invalid(exc, lines, where) from exc
    return spec.model_copy(update={"extension": host}), lines


def _invalid(exc: ValidationError, lines: LineMap, where: str) -> DefinitionError:
    """The first validation error of a spec file, in the words of a DefinitionError."""
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    field = ".".join(str(p) for p in loc)
    if first["type"] == "extra_forbidden":
        message, hint = f"未知的键“{loc[-1]}”（{field}）", "删除它或检查拼写"
    elif first["type"] == "missing":
        message, hint = f"缺少必填项“{field}”", "补上该项"
    else:
        message, hint = f"“{field}”的值无效：{first['msg']}", None
    return DefinitionError(message, file=where, line=line_of(lines, loc), hint=hint)


class Registry:
    """Every loaded spec version, immutable after loading."""

    def __init__(
        self,
        hooks: HookSet,
        vocabularies: Mapping[str, Vocabulary] | None = None,
        requirements: Requirements | None = None,
    ) -> None:
        self.hooks = hooks
        self.vocabularies: dict[str, Vocabulary] = {**hooks.declarations, **(vocabularies or {})}
        self._static_options = {
            name: [Option(o.code, o.label) for o in v.options]
            for name, v in self.vocabularies.items()
        }
        self.requirements = requirements or Requirements()
        self._specs: dict[str, dict[int, CompiledSpec]] = {}

    @classmethod
    def from_directory(
        cls, root: Path, hooks: HookSet, requirements: Requirements | None = None
    ) -> Registry:
        """Load the vocabularies under root/vocabularies/, then every root/<key>/vN.yaml."""
        registry = cls(hooks, load_vocabularies(root / VOCABULARY_DIR), requirements)
        files = sorted(f for f in root.glob("*/v*.yaml") if f.parent.name != VOCABULARY_DIR)
        if not files:
            raise DefinitionError("目录中没有流程定义", file=str(root), hint="放入 <key>/v1.yaml")
        registry.load_files(files)
        registry.check_requirements()
        return registry

    def load_files(self, files: Iterable[Path]) -> list[CompiledSpec]:
        return [self.load_file(file) for file in files]

    def load_file(self, file: Path) -> CompiledSpec:
        extension = self.hooks.extension
        spec, lines = parse_spec_file(file, extension)
        spec = declare(spec, self.vocabularies, file, lines)
        check_spec(spec, self.hooks, file, lines)
        if extension is not None:
            check_host(spec, extension, self.vocabularies, file, lines)
        check_fields(
            spec,
            file,
            lines,
            vocabularies=[*self.vocabularies, *self.hooks.vocabularies],
            providers=self.hooks.options,
            services=self.requirements.services,
            document_kinds=self.requirements.document_kinds,
        )
        versions = self._specs.setdefault(spec.id, {})
        if spec.version in versions:
            raise DefinitionError(
                f"流程 {spec.id} 的版本 {spec.version} 已加载（{versions[spec.version].file}）",
                file=str(file),
                line=lines.get(("version",)),
            )
        compiled = compile_spec(spec, self.hooks, file)
        versions[spec.version] = compiled
        return compiled

    def get(self, spec_id: str, version: int) -> CompiledSpec:
        try:
            return self._specs[spec_id][version]
        except KeyError:
            raise DefinitionError(
                f"未加载流程 {spec_id} v{version}", file=f"{spec_id}/v{version}.yaml"
            ) from None

    def latest(self, spec_id: str) -> CompiledSpec:
        versions = self._specs.get(spec_id)
        if not versions:
            known = ", ".join(sorted(self._specs)) or "无"
            raise DefinitionError(f"未知流程“{spec_id}”（已加载：{known}）", file=spec_id)
        return versions[max(versions)]

    def all(self) -> list[CompiledSpec]:
        return [v for versions in self._specs.values() for _, v in sorted(versions.items())]

    # --- what fields may take ------------------------------------------------------------

    def options(self, ctx: TransitionContext, spec: FieldSpec) -> Sequence[Option]:
        """What a choice or reference field may take now, for this case and actor."""
        vocabulary = spec.vocabulary  # set on choice fields only (FieldSpec's own check)
        if vocabulary is not None:
            static = self._static_options.get(vocabulary)
            if static is not None:
                return static
            return self.hooks.vocabularies[vocabulary](ctx, spec)
        return self.hooks.options[spec.type](ctx, spec)

    def refusal(self, ctx: TransitionContext, spec: FieldSpec, value: Any) -> str | None:
        """Why `value` is not among a reference field's options, when the domain says."""
        explain = self.hooks.refusals.get(spec.type)
        return None if explain is None else explain(ctx, spec, value)

    def labels(self) -> dict[str, dict[str, str]]:
        """Every data-file vocabulary as code → label, for actions and documents."""
        return {name: v.labels() for name, v in self.vocabularies.items()}

    def check_requirements(self) -> None:
        """Every name the host's code relies on exists in the loaded specs.

        Raises:
            DefinitionError: a trigger, state or service step the code needs is missing.
        """
        needed = self.requirements
        specs = self.all()
        where = ", ".join(str(c.file) for c in specs) or "workflows/"
        present = {
            "触发器": {t.trigger for c in specs for t in c.spec.transitions},
            "状态": {s.name for c in specs for s in c.spec.states},
        }
        for what, names in (("触发器", needed.triggers), ("状态", needed.states)):
            for name in sorted(names - present[what]):
                hint = did_you_mean(name, present[what])
                raise DefinitionError(
                    f"程序依赖的{what}“{name}”在任何流程中都不存在",
                    file=where,
                    hint=f"把“{hint}”改回“{name}”" if hint else f"增加{what}“{name}”",
                )
        performed = {(t.service, t.trigger) for c in specs for t in c.spec.transitions}
        for service, service_triggers in sorted(needed.services.items()):
            for trigger in sorted(service_triggers):
                if (service, trigger) not in performed:
                    raise DefinitionError(
                        f"服务“{service}”执行的步骤“{trigger}”在任何流程中都没有声明"
                        f"“service: {service}”",
                        file=where,
                        hint=f"在触发器“{trigger}”的转换上写 service: {service}",
                    )


def load_vocabularies(directory: Path) -> dict[str, Vocabulary]:
    """Every directory/<name>.yaml as a Vocabulary; the file name is its name.

    Raises:
        DefinitionError: unreadable YAML, unknown keys, duplicate codes; with file and line.
    """
    vocabularies: dict[str, Vocabulary] = {}
    if not directory.is_dir():
        return vocabularies
    for file in sorted(directory.glob("*.yaml")):
        where = str(file)
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
            vocabulary = Vocabulary.model_validate(data)
        except (OSError, yaml.YAMLError) as exc:
            raise DefinitionError(f"无法读取词表：{exc}", file=where) from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise DefinitionError(f"词表“{loc}”有误：{first['msg']}", file=where) from exc
        if vocabulary.name != file.stem:
            raise DefinitionError(
                f"词表名“{vocabulary.name}”与文件名不符", file=where, hint=f"改为 {file.stem}"
            )
        codes = [o.code for o in vocabulary.options]
        if len(set(codes)) != len(codes):
            raise DefinitionError("词表中有重复的代码", file=where, hint="每个 code 只能出现一次")
        vocabularies[vocabulary.name] = vocabulary
    return vocabularies

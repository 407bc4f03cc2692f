"""Load workflows/ into key → version → compiled spec, failing with file and line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from engine.checks import LineMap, check_spec, line_of
from engine.errors import DefinitionError
from engine.hooks import HookSet
from engine.machine import CompiledSpec, compile_spec
from engine.spec import WorkflowSpec


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


def parse_spec_file(file: Path) -> tuple[WorkflowSpec, LineMap]:
    """Parse one YAML file into a frozen WorkflowSpec and a map of paths to line numbers.

    Raises:
        DefinitionError: unreadable YAML, unknown keys, wrong types; with file and line.
    """
    where = str(file)
    try:
        text = file.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise DefinitionError(f"无法读取文件：{exc.strerror}", file=where) from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise DefinitionError(f"YAML 语法错误：{exc.problem}", file=where, line=line) from exc
    if node is None or not isinstance(data, dict):
        raise DefinitionError("文件为空或顶层不是映射", file=where, line=1, hint="以 id: 开头")
    lines: dict[Any, int] = {}
    _line_map(node, (), lines, where)
    try:
        spec = WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        field = ".".join(str(p) for p in loc)
        if first["type"] == "extra_forbidden":
            message, hint = f"未知的键“{loc[-1]}”（{field}）", "删除它或检查拼写"
        elif first["type"] == "missing":
            message, hint = f"缺少必填项“{field}”", "补上该项"
        else:
            message, hint = f"“{field}”的值无效：{first['msg']}", None
        raise DefinitionError(message, file=where, line=line_of(lines, loc), hint=hint) from exc
    return spec, lines


class Registry:
    """Every loaded spec version, immutable after loading."""

    def __init__(self, hooks: HookSet) -> None:
        self.hooks = hooks
        self._specs: dict[str, dict[int, CompiledSpec]] = {}

    @classmethod
    def from_directory(cls, root: Path, hooks: HookSet) -> Registry:
        registry = cls(hooks)
        files = sorted(root.glob("*/v*.yaml"))
        if not files:
            raise DefinitionError("目录中没有流程定义", file=str(root), hint="放入 <key>/v1.yaml")
        registry.load_files(files)
        return registry

    def load_files(self, files: Iterable[Path]) -> list[CompiledSpec]:
        return [self.load_file(file) for file in files]

    def load_file(self, file: Path) -> CompiledSpec:
        spec, lines = parse_spec_file(file)
        check_spec(spec, self.hooks, file, lines)
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

"""Forms drawn from an action's declared fields (its JSON Schema, `x-kind` per field), and the
posted form read back into the payload the engine checks. The engine is the only judge of a
value: this module only turns HTML form strings into JSON types, and maps the engine's field
errors (dotted paths such as `terms.0.due_date`) back onto the inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.datastructures import FormData

from engine.errors import EngineError, InvalidInput

BEIJING_OFFSET = "+08:00"
REFERENCE_KINDS = frozenset({"party", "user", "org_unit", "court", "document"})
EMPTY_ROWS = 1  # blank rows offered after the filled ones of a list of objects
MAX_ROWS = 30


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class FormField:
    """One input as the template draws it."""

    name: str  # the payload key; inputs of list rows are named `<list>.<i>.<name>`
    kind: str  # the x-kind: text, long_text, integer, money, number, date, datetime, boolean,
    #            choice, party, user, org_unit, court, document, list (plain or of objects)
    title: str
    help: str | None
    required: bool
    options: tuple[Option, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    item_kind: str | None = None  # a plain list's item kind
    children: tuple[FormField, ...] = ()  # a list of objects' fields
    max_items: int = MAX_ROWS


def _field(name: str, schema: Mapping[str, Any], required: bool) -> FormField:
    kind = str(schema.get("x-kind", "text"))
    items: Mapping[str, Any] = schema.get("items", {}) if kind in ("list", "terms") else {}
    option_source = items if items and "x-kind" in items else schema
    options = tuple(
        Option(str(o["const"]), str(o.get("title", o["const"])))
        for o in option_source.get("oneOf", [])
    )
    children: tuple[FormField, ...] = ()
    item_kind = None
    if items.get("type") == "object" or kind == "terms":
        wanted = set(items.get("required", []))
        children = tuple(
            _field(child, sub, child in wanted)
            for child, sub in items.get("properties", {}).items()
        )
        kind = "list"
    elif items:
        item_kind = str(items.get("x-kind", "text"))
        kind = "list"
    return FormField(
        name=name,
        kind=kind,
        title=str(schema.get("title", name)),
        help=schema.get("description"),
        required=required,
        options=options,
        minimum=schema.get("minimum"),
        maximum=schema.get("maximum"),
        max_length=schema.get("maxLength"),
        item_kind=item_kind,
        children=children,
        max_items=min(int(schema.get("maxItems", MAX_ROWS)), MAX_ROWS),
    )


def fields_of(schema: Mapping[str, Any] | None) -> list[FormField]:
    """The schema's properties as form fields, in declaration order."""
    if not schema:
        return []
    wanted = set(schema.get("required", []))
    return [_field(n, s, n in wanted) for n, s in schema.get("properties", {}).items()]


def _scalar(kind: str, raw: str) -> Any:
    """A form string as the JSON value the API would receive; the engine judges it."""
    text = raw.strip()
    if kind in ("integer", *REFERENCE_KINDS):
        return int(text) if text.lstrip("-").isdigit() and len(text) < 12 else text
    if kind in ("money", "number"):
        try:
            amount = Decimal(text)
        except InvalidOperation:
            return text
        if not amount.is_finite():
            return text
        return int(amount) if amount == amount.to_integral_value() else float(amount)
    if kind == "datetime" and len(text) == 16:  # <input type=datetime-local>: Beijing time
        return f"{text}:00{BEIJING_OFFSET}"
    return text


def _value(f: FormField, form: FormData, prefix: str) -> tuple[bool, Any]:
    """(present, value) of one field in the posted form."""
    key = prefix + f.name
    if f.kind == "boolean":
        return key in form, form.get(key) == "true"
    if f.kind == "list" and f.children:
        rows = []
        for index in range(f.max_items):
            row: dict[str, Any] = {}
            for child in f.children:
                present, value = _value(child, form, f"{key}.{index}.")
                if present and child.kind != "boolean":
                    row[child.name] = value
            if row:
                rows.append(row)
        return bool(rows), rows
    if f.kind == "list":
        if f.options:  # checkboxes
            picked = [_scalar(f.item_kind or "text", str(v)) for v in form.getlist(key)]
            return bool(picked), picked
        lines = [line.strip() for line in str(form.get(key, "")).splitlines() if line.strip()]
        return bool(lines), [_scalar(f.item_kind or "text", line) for line in lines]
    raw = form.get(key)
    if not isinstance(raw, str) or not raw.strip():
        return False, None
    return True, _scalar(f.kind, raw)


def payload_of(fields: Sequence[FormField], form: FormData) -> dict[str, Any]:
    """The payload the posted form stands for: blank inputs are left out (the engine says
    which required ones are missing)."""
    payload: dict[str, Any] = {}
    for f in fields:
        present, value = _value(f, form, "")
        if present or (f.kind == "boolean" and f.required):
            payload[f.name] = value
    return payload


def raw_values(form: FormData) -> dict[str, Any]:
    """What the person typed, to show again beside the errors."""
    values: dict[str, Any] = {}
    for key in form:
        items = form.getlist(key)
        values[key] = items if len(items) > 1 else items[0]
    return values


@dataclass
class Problems:
    """Errors by input name, and those that belong to no input (the summary only)."""

    by_field: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.by_field or self.general)


def problems_of(exc: EngineError, names: Sequence[str]) -> Problems:
    """The engine's refusal as messages beside the fields: a declared-field check lists every
    bad field (`errors`), other input errors name one field, the rest (a guard, a role, a
    stale version) say why in a sentence."""
    found = Problems()
    listed = exc.fields.get("errors")
    if isinstance(listed, list) and listed:
        for error in listed:
            path = str(error.get("field") or "")
            if path and (path in names or path.split(".")[0] in names):
                found.by_field.setdefault(path, str(error.get("message")))
            else:
                found.general.append(str(error.get("message")))
        return found
    name = exc.fields.get("field") if isinstance(exc, InvalidInput) else None
    if isinstance(name, str) and (name in names or name.split(".")[0] in names):
        found.by_field[name] = exc.message_zh
    else:
        found.general.append(exc.message_zh)
    return found


def form_int(form: Mapping[str, Any], name: str) -> int:
    """A posted id or version: ASCII digits only, else 0 (which matches nothing)."""
    raw = form.get(name)
    text = raw.strip() if isinstance(raw, str) else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else 0

"""A client that knows nothing of mediation: it builds every payload from the JSON Schema the
API publishes for an action (types, limits, and the options offered as `oneOf`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: s.strip() != "")


def values_for(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema allows (a practical subset of JSON Schema: what the API publishes)."""
    if "oneOf" in schema:
        consts = [option["const"] for option in schema["oneOf"]]
        return st.sampled_from(consts) if consts else st.nothing()
    kind = schema.get("type")
    if kind == "object":
        return objects_for(schema)
    if kind == "array":
        low, high = schema.get("minItems", 0), min(schema.get("maxItems", 3), 3)
        return st.lists(
            values_for(schema["items"]),
            min_size=low,
            max_size=max(low, high),
            unique_by=(lambda v: repr(v)) if schema.get("uniqueItems") else None,
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(int(schema.get("minimum", 0)), int(schema.get("maximum", 1000)))
    if kind == "number":
        return st.integers(0, 10_000_00).map(lambda cents: cents / 100)
    if kind == "string" and schema.get("format") == "date":
        today = datetime.now(UTC).date()
        return st.integers(0, 400).map(lambda days: (today + timedelta(days=days)).isoformat())
    if kind == "string" and schema.get("format") == "date-time":
        return st.just(datetime.now(UTC).isoformat())
    if kind == "string":
        limit = schema.get("maxLength", 30)
        return TEXT.map(lambda s: s[:limit])
    raise AssertionError(f"the API published a schema this client cannot read: {schema}")


def objects_for(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    required = set(schema.get("required", []))
    properties: dict[str, Any] = schema.get("properties", {})

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, field in properties.items():
            if name in required or draw(st.booleans()):
                result[name] = draw(values_for(field))
        return result

    return build()

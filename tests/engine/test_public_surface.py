"""The engine's public surface lives in engine/__init__.py and its __all__ is complete."""

from __future__ import annotations

import engine


def test_all_names_every_public_export_and_nothing_else() -> None:
    public = {
        name
        for name, value in vars(engine).items()
        if not name.startswith("_") and not isinstance(value, type(engine))
    }
    assert set(engine.__all__) == public
    assert engine.__all__ == sorted(engine.__all__)

"""The deployment's key files (api/keys.py): made once, shared by racing workers, and a broken
or missing one named with a stable code instead of a traceback."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.keys import KeyFileInvalid, KeyFileMissing, load_hex_key, load_pii_key, load_token_key
from api.settings import get_settings


def test_a_key_is_made_once_with_mode_0600_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "token.key"
    key = load_token_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_token_key(path) == key


def test_workers_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "store.key"
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: load_hex_key(path, "文书加密密钥"), range(32)))
    assert len(keys) == 1
    assert [p.name for p in path.parent.iterdir()] == ["store.key"]  # no temporary file left


def test_a_broken_key_is_named_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "pii.key"
    path.write_text("not hex")
    with pytest.raises(KeyFileInvalid, match="格式有误") as caught:
        load_pii_key(path, create=True)
    assert caught.value.code == "key_file_invalid"
    assert path.read_text() == "not hex"  # never overwritten: the data it protects needs it


def test_the_pii_key_is_never_made_outside_init(tmp_path: Path) -> None:
    with pytest.raises(KeyFileMissing, match="fengqiao init"):
        load_pii_key(tmp_path / "pii.key", create=False)
    assert not (tmp_path / "pii.key").exists()


def test_the_cli_names_a_broken_key_with_its_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("FENGQIAO_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["init"]).exit_code == 0
        (tmp_path / "var" / "keys" / "pii.key").write_text("0123")
        result = runner.invoke(app, ["timers", "retry"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "key_file_invalid" in result.output
    assert "PII 密钥文件" in result.output

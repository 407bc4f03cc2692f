"""Logs never hold passwords, hashes, tokens, ID or phone numbers, or search terms; SQL
parameters are not logged; an optional JSON format (on SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.logs import JsonFormatter, RedactingFilter, configure_logging
from api.wiring import make_sa_engine
from tests.conftest import PG_URL

SECRETS = [
    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
    "v1.eyJzdWIiOjEsImlhdCI6MX0.abcdefghijklmnopqrstuvwx",
    "11010519491231002X",
    "13812341234",
]


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("uvicorn.access")
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)
    logger.propagate = old_propagate


def test_access_lines_lose_their_query_and_secrets_are_masked(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = captured
    logger.info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        "/api/v1/cases?q=%E9%A1%BE%E4%B8%BD%E5%8D%8E&reveal=true",
        "1.1",
        200,
    )
    logger.warning("login with password=hunter2 and Bearer %s", SECRETS[1])
    logger.error("party %s phone %s hash %s", SECRETS[2], SECRETS[3], SECRETS[0])
    text = stream.getvalue()
    assert "/api/v1/cases 200" not in text  # formatted line: path kept, query dropped
    assert "GET /api/v1/cases HTTP/1.1" in text
    assert "%E9%A1%BE" not in text
    assert "hunter2" not in text
    for secret in SECRETS:
        assert secret not in text


def test_uvicorn_formats_the_filtered_access_line(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    """uvicorn's access formatter reads the line's arguments by position: the filter keeps
    them (it once flattened them, and every request logged a formatting error instead)."""
    from uvicorn.logging import AccessFormatter

    logger, stream, handler = captured
    handler.setFormatter(AccessFormatter('%(client_addr)s "%(request_line)s" %(status_code)s'))
    errors: list[BaseException] = []

    def record_error(record: logging.LogRecord) -> None:
        del record
        errors.append(sys.exc_info()[1])  # type: ignore[arg-type]

    handler.handleError = record_error  # type: ignore[method-assign]
    logger.info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        f"/api/v1/cases?q={SECRETS[3]}&party={SECRETS[2]}",
        "1.1",
        200,
    )
    assert errors == []
    text = stream.getvalue()
    assert '"GET /api/v1/cases HTTP/1.1" 200' in text, text
    for secret in SECRETS:
        assert secret not in text


def test_json_log_format_is_one_object_per_line(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = captured
    handler.setFormatter(JsonFormatter())
    logger.info("手机 %s", SECRETS[3])
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["level"] == "INFO"
    assert entry["logger"] == "uvicorn.access"
    assert SECRETS[3] not in entry["message"]


def test_configure_logging_filters_every_handler_once() -> None:
    handler = logging.StreamHandler(io.StringIO())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        configure_logging("text")
        configure_logging("text")
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_sql_parameters_never_reach_an_error_message(backend: str, tmp_path: Path) -> None:
    if backend == "postgresql" and not PG_URL:
        pytest.skip("FENGQIAO_TEST_DATABASE_URL is not set")
    url = PG_URL if backend == "postgresql" else f"sqlite:///{tmp_path / 'log.db'}"
    assert url is not None
    engine = make_sa_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS log_probe"))
            connection.execute(sa.text("CREATE TABLE log_probe (name VARCHAR(200) UNIQUE)"))
            connection.execute(sa.text("INSERT INTO log_probe VALUES (:v)"), {"v": SECRETS[0]})
        with pytest.raises(sa.exc.IntegrityError) as caught, engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO log_probe VALUES (:v)"), {"v": SECRETS[0]})
        assert "[SQL parameters hidden" in str(caught.value)
        # PostgreSQL repeats a duplicate key's value in its own message: the filter masks it
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.addFilter(RedactingFilter())
        logger = logging.getLogger("fengqiao.test.logs")
        logger.addHandler(handler)
        logger.propagate = False
        try:
            logger.error("insert failed", exc_info=caught.value)
        finally:
            logger.removeHandler(handler)
        assert "insert failed" in stream.getvalue()
        assert SECRETS[0] not in stream.getvalue()
        with engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE log_probe"))
    finally:
        engine.dispose()

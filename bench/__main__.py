"""`make bench`: run every benchmark under bench/ and rewrite its section of BENCHMARKS.md.

Each bench module offers `run(postgres_url) -> results` and `describe(results) -> str`; the
figures land between `<!-- bench:NAME -->` markers so the prose around them survives.
"""

from __future__ import annotations

import importlib
import os
import platform
import re
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

BENCHMARKS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
MODULES = ("engine", "documents", "api", "timers", "web", "cli")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {total_kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}"
    )


def postgres_url() -> str | None:
    """The bench database (never the test one: the suite drops its schema)."""
    url = os.environ.get("FENGQIAO_BENCH_DATABASE_URL")
    if not url:
        return None
    try:
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            version = connection.exec_driver_sql("SHOW server_version").scalar_one()
        engine.dispose()
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL at {url} is not reachable, measuring SQLite only: {exc}")
        return None
    print(f"PostgreSQL {version} at {url}")
    return url


def write_section(name: str, body: str) -> None:
    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else "# Benchmarks\n"
    block = f"<!-- bench:{name} -->\n{body}\n<!-- /bench:{name} -->"
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text}\n{block}\n"
    BENCHMARKS.write_text(text, encoding="utf-8")


def main(names: list[str]) -> int:
    url = postgres_url()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    for name in names or MODULES:
        try:
            module: Any = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError:
            print(f"bench/{name}.py is not there yet; skipped")
            continue
        print(f"== bench/{name}.py")
        results = module.run(url)
        table = module.describe(results)
        print(table)
        write_section(name, f"Measured {stamp} on {machine()}.\n\n{table}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

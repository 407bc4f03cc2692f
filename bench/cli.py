"""How fast the `fengqiao` command answers: a fresh process per run, as a person types it.

Target (issue 13): `fengqiao --help` and `fengqiao audit verify` start in under 0.3 s. The
second is measured as `audit verify --help`, which loads the command's module and parses its
options but verifies nothing: the time before any work starts.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))
COMMANDS = {
    "fengqiao --help": ["--help"],
    "fengqiao audit verify --help": ["audit", "verify", "--help"],
    "fengqiao workflows --help": ["workflows", "--help"],
}
RUNS = 15


def _time(arguments: list[str]) -> list[float]:
    taken = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([FENGQIAO, *arguments], capture_output=True, check=True)
        taken.append(time.perf_counter() - start)
    return taken


def run(postgres_url: str | None = None) -> dict[str, dict[str, float]]:
    del postgres_url  # start-up reads no database
    results = {}
    for name, arguments in COMMANDS.items():
        taken = _time(arguments)
        results[name] = {"median": statistics.median(taken), "max": max(taken)}
    return results


def describe(results: dict[str, dict[str, float]]) -> str:
    rows = ["| command | median | slowest of 15 | target |", "| --- | ---: | ---: | ---: |"]
    for name, figures in results.items():
        rows.append(
            f"| `{name}` | {figures['median'] * 1000:.0f} ms | {figures['max'] * 1000:.0f} ms "
            "| < 300 ms |"
        )
    return "\n".join(rows)

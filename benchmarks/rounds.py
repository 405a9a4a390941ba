"""What the benchmarks share: their turns (every contender once per round, in an order that
rotates), a contender timed in a fresh interpreter, and the median and range over the rounds.

Run back to back, the contender that goes first in a round meets a different machine (caches,
clock, another job's load) from the one that goes last; rotating the order spreads that over
all of them, and over ``len(names)`` rounds each goes first once.
"""

from __future__ import annotations

import json
import statistics
import subprocess


def rotated(names: list[str], round_index: int) -> list[str]:
    """The order of round ``round_index`` (from 0): ``names`` rotated left by that many."""
    if not names:
        raise ValueError("names: got an empty list, expected one or more contenders")
    k = round_index % len(names)
    return names[k:] + names[:k]


def refuse_below_one(parser, args, names: list[str]) -> None:
    """``parser.error`` (exit status 2, one line) for the first of ``names`` below 1."""
    for name in names:
        value = getattr(args, name)
        if value < 1:
            flag = "--" + name.replace("_", "-")
            parser.error(f"{flag} must be at least 1, got {value}")


def seconds_in_own_process(cmd: list[str], what: str) -> float:
    """Run ``cmd`` (a benchmark's worker: a fresh interpreter timing one contender) and return
    the ``"seconds"`` of the JSON object on its last line of output; a failed worker raises
    RuntimeError naming ``what`` with its standard error."""
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def summary(values) -> tuple[float, float, float]:
    """Median, minimum and maximum."""
    return statistics.median(values), min(values), max(values)

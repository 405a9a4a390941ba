"""The benchmarks' order of turns: every contender once per round, in an order that rotates.

Run back to back, the contender that goes first in a round meets a different machine (caches,
clock, another job's load) from the one that goes last; rotating the order spreads that over
all of them, and over ``len(names)`` rounds each goes first once.
"""

from __future__ import annotations


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

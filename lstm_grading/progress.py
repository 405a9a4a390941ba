"""What an instructor watches while a class is graded: counts, rate and time left.

On a terminal (the stream's ``isatty()``), one line redrawn in place::

    [###########.........................]  12/40  30%  graded 11  failed 1  2.4/min  ETA 0:11:40

Anywhere else (a log file, CI, a pipe), plain lines, one per tenth of the work and the last::

    12/40 (30%): graded 11, failed 1; 2.4/min, ETA 0:11:40

The rate and the time left come from the submissions finished so far (the elapsed time since
the bar was made divided by the count); before the first one the ETA is unknown (``--:--:--``).
No dependency: a few lines of text on ``stream`` (standard error by default).
"""

from __future__ import annotations

import sys
import time

BAR = 30  # characters of the bar on a terminal


def clock_text(seconds: float | None) -> str:
    """``H:MM:SS``, or ``--:--:--`` when unknown."""
    if seconds is None:
        return "--:--:--"
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Counts of a grading run, drawn on ``stream``.

    ``update(status, student)`` after each submission (status ``graded`` or ``failed``);
    ``say(message)`` for a line of its own (e.g. waiting for workers); ``close()`` at the end.
    ``clock`` returns seconds (monotonic); tests pass a fake one.
    """

    def __init__(self, total: int, stream=None, clock=time.monotonic):
        if total < 0:
            raise ValueError(f"total must be at least 0, got {total}")
        self.total, self.stream, self.clock = total, stream or sys.stderr, clock
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = clock()
        self.done = self.graded = self.failed = 0
        self.tenth = 0  # plain lines: the last tenth printed
        self.drawn = 0  # terminal: length of the line on screen

    def rate(self) -> float | None:
        """Submissions per minute so far, None before the first."""
        elapsed = self.clock() - self.start
        return self.done / elapsed * 60 if self.done and elapsed > 0 else None

    def eta(self) -> float | None:
        """Seconds left at the rate so far, None before the first submission."""
        if not self.done:
            return None
        return (self.clock() - self.start) / self.done * (self.total - self.done)

    def line(self) -> str:
        pct = 100 * self.done // self.total if self.total else 100
        rate = self.rate()
        rate_text = "-" if rate is None else f"{rate:.1f}"
        if self.tty:
            fill = BAR * self.done // self.total if self.total else BAR
            return (
                f"[{'#' * fill}{'.' * (BAR - fill)}] {self.done:>{len(str(self.total))}}/"
                f"{self.total} {pct:3d}%  graded {self.graded}  failed {self.failed}  "
                f"{rate_text}/min  ETA {clock_text(self.eta())}"
            )
        return (
            f"{self.done}/{self.total} ({pct}%): graded {self.graded}, failed {self.failed}; "
            f"{rate_text}/min, ETA {clock_text(self.eta())}"
        )

    def _draw(self) -> None:
        text = self.line()
        self.stream.write("\r" + text + " " * max(0, self.drawn - len(text)))
        self.drawn = len(text)
        self.stream.flush()

    def update(self, status: str, student: str = "") -> None:
        """One more submission done (``student`` is not shown: names stay off screens)."""
        self.done += 1
        self.graded += status == "graded"
        self.failed += status == "failed"
        if self.tty:
            self._draw()
            if self.done == self.total:
                self.stream.write("\n")
                self.drawn = 0
                self.stream.flush()
        else:
            tenth = 10 * self.done // self.total if self.total else 10
            if tenth > self.tenth or self.done == self.total:
                self.tenth = tenth
                self.stream.write(self.line() + "\n")
                self.stream.flush()

    def say(self, message: str) -> None:
        """A message on a line of its own; the bar is redrawn under it on a terminal."""
        if self.tty and self.drawn:
            self.stream.write("\r" + " " * self.drawn + "\r")
        self.stream.write(message + "\n")
        if self.tty and self.drawn:
            self._draw()
        self.stream.flush()

    def close(self) -> None:
        """End the terminal line if the bar stopped short (an interrupted run)."""
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.drawn = 0
            self.stream.flush()

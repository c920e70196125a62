"""How a send shows its progress: a rich progress bar on a terminal, plain lines elsewhere.

:class:`mailer.send.SendRun` calls ``start(total)`` once the edition is planned, ``update``
after every batch (whatever its outcome) and ``waiting`` before it sleeps to retry; the CLI
calls ``close`` when the run ends; ``note`` reports a batch refused or with an unknown outcome. Plain lines go out every 10 % of the readers or every
``interval`` seconds, whichever comes first, so a log file or CI output stays short.
"""
from __future__ import annotations

import sys
import time
from typing import IO, Callable


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class NoProgress:
    def start(self, total: int, label: str = "") -> None:
        pass

    def update(self, report) -> None:
        pass

    def waiting(self, seconds: float, why: str) -> None:
        pass

    def note(self, message: str) -> None:
        """Something the operator should know now (a batch refused, an outcome unknown)."""

    def close(self) -> None:
        pass


class PlainProgress(NoProgress):
    """``2027-02-01-spring: 30,000/100,000 (30%), 0 failed, 0 unknown, 2,950/s, ETA 24s``."""

    def __init__(self, stream: IO[str] | None = None, *, interval: float = 10.0, step: float = 0.1,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.interval, self.step, self.clock = interval, step, clock
        self.total = 0
        self.label = ""
        self._started = self._last_time = 0.0
        self._last_done = 0

    def _write(self, line: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(line + "\n")
        stream.flush()

    def start(self, total: int, label: str = "") -> None:
        self.total, self.label = total, label
        self._started = self._last_time = self.clock()
        self._last_done = 0
        if total:
            self._write(f"{label}: {total:,} reader{'s' if total != 1 else ''} to send")

    def update(self, report) -> None:
        done = report.attempted
        now = self.clock()
        due_step = self.total and (done - self._last_done) >= self.step * self.total
        if not (due_step or now - self._last_time >= self.interval or (self.total and done >= self.total)):
            return
        self._last_done, self._last_time = done, now
        elapsed = now - self._started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = max(0, self.total - done)
        eta = f", ETA {duration(left / rate)}" if rate > 0 and left else ""
        share = f" ({done * 100 // self.total}%)" if self.total else ""
        self._write(f"{self.label}: {done:,}/{self.total:,}{share}, {report.failed:,} failed, "
                    f"{report.unknown:,} unknown, {rate:,.0f}/s{eta}")

    def waiting(self, seconds: float, why: str) -> None:
        self._write(f"{self.label}: {why}; retrying in {seconds:.1f} s")

    def note(self, message: str) -> None:
        self._write(f"{self.label}: {message}")


class RichProgress(NoProgress):
    """A bar with count, rate, elapsed time and ETA (rich.progress), on standard error."""

    def __init__(self, stream: IO[str] | None = None):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn,
                                   TextColumn, TimeElapsedColumn, TimeRemainingColumn)

        self.console = Console(file=stream or sys.stderr)
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TaskProgressColumn(), TextColumn("{task.fields[rate]}/s"),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[problems]}"), console=self.console,
                                 transient=False)
        self.task = None
        self._started = time.monotonic()

    def start(self, total: int, label: str = "") -> None:
        self._started = time.monotonic()
        self.progress.start()
        self.task = self.progress.add_task(label, total=total or None, rate="0", problems="")

    def update(self, report) -> None:
        if self.task is None:
            return
        elapsed = time.monotonic() - self._started
        problems = ", ".join(f"{n:,} {what}" for n, what in ((report.failed, "failed"),
                                                            (report.unknown, "unknown")) if n)
        self.progress.update(self.task, completed=report.attempted,
                             rate=f"{report.attempted / elapsed:,.0f}" if elapsed > 0 else "0",
                             problems=problems)

    def waiting(self, seconds: float, why: str) -> None:
        self.console.print(f"{why}; retrying in {seconds:.1f} s", markup=False, highlight=False)

    def note(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False)

    def close(self) -> None:
        if self.task is not None:
            self.progress.stop()
            self.task = None


def for_stream(stream: IO[str] | None = None, *, quiet: bool = False):
    """A rich bar if ``stream`` (standard error by default) is a terminal, else plain lines."""
    if quiet:
        return NoProgress()
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return RichProgress(stream)
    return PlainProgress(stream)


__all__ = ["NoProgress", "PlainProgress", "RichProgress", "for_stream", "duration"]

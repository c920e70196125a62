"""The board report's files written by a second process, started before the figures are computed.

    with ReportWriter() as writer:              # forks now: the worker imports its libraries
        report = build_report(...)              # meanwhile, here
        files = writer.write(report, out)       # charts, HTML, CSV and PDF, by the worker

Importing matplotlib and WeasyPrint costs about 2 s of CPU, a fifth of a report on 100,000
subscribers and 5,000 courses. The worker does those imports while this process reads the
records and computes the figures, then runs the very same :func:`report_render.write_report`,
so the files are the same, byte for byte, as when written here.

The worker is only forked from a single-threaded process (forking with threads running can
leave a lock held for ever in the child) where fork exists; otherwise, or if the worker dies,
the files are written in this process. An error in the worker is raised here as it was raised
there.
"""
from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

from .figures import Report

Laps = list[tuple[str, float, float]]          # (stage, wall seconds, CPU seconds)


def _serve(conn, pdf: bool) -> None:
    """The worker: import, wait for one report, write it, send back the files (or the error)."""
    laps: Laps = []
    clock = (time.perf_counter(), time.process_time())
    try:
        import matplotlib.backends.backend_svg  # noqa: F401
        import matplotlib.figure  # noqa: F401
        if pdf:
            import weasyprint  # noqa: F401
            import weasyprint.pdf  # noqa: F401
    except Exception:               # noqa: BLE001  write_report raises it again, with its message
        pass
    laps.append(("imports", time.perf_counter() - clock[0], time.process_time() - clock[1]))
    try:
        report, out, pdf = conn.recv()
    except EOFError:
        return
    from .report_render import write_report
    try:
        files = write_report(report, out, pdf=pdf, laps=laps)
        conn.send(("ok", (files, laps)))
    except BaseException as err:    # noqa: BLE001  sent back and raised in the caller
        try:
            conn.send(("error", err))
        except Exception:           # noqa: BLE001  an error that does not pickle
            conn.send(("error", RuntimeError(f"{type(err).__name__}: {err}")))


class ReportWriter:
    """Writes one report, through a worker forked when this is made (see the module's note)."""

    def __init__(self, *, pdf: bool = True, worker: bool = True):
        """``pdf``: whether the worker should import WeasyPrint; ``worker``: False writes in
        this process (for comparison)."""
        self._conn: Any = None
        self._process: Any = None
        self._answered = False
        self.laps: Laps = []        # the stages of the last write, from whichever process wrote
        usable = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
        if worker and usable:
            context = multiprocessing.get_context("fork")
            self._conn, child = context.Pipe()
            self._process = context.Process(target=_serve, args=(child, pdf), daemon=True,
                                            name="report-writer")
            self._process.start()
            child.close()

    @property
    def forked(self) -> bool:
        return self._process is not None

    def write(self, report: Report, out: Path, *, pdf: bool = True) -> dict[str, Path]:
        """Write ``report`` into ``out`` (report_render.write_report): by the worker if there
        is one, else here."""
        if self._process is not None:
            try:
                self._conn.send((report, Path(out), pdf))
                status, value = self._conn.recv()
                self._answered = True
            except (EOFError, OSError):
                status = "lost"         # the worker died: write here instead
            finally:
                self.close()
            if status == "error":
                raise value
            if status == "ok":
                files, self.laps = value
                return files
        from .report_render import write_report
        self.laps = []
        return write_report(report, out, pdf=pdf, laps=self.laps)

    def close(self) -> None:
        """Let the worker go: once it has answered, it is ending; before, it has written
        nothing (it may still be importing) and is stopped."""
        if self._process is None:
            return
        self._conn.close()
        if not self._answered:
            self._process.kill()
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._process = None

    def __enter__(self) -> "ReportWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

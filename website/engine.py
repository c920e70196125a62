"""The generated MkDocs project → HTML, with MkDocs (the default) or Zensical.

MkDocs is imported lazily (as serve.py does), so ``build.py check`` stays fast. Zensical, the
successor of Material for MkDocs, reads the same generated project; it runs as its own command
(``zensical build``), building into the project's ``site/`` folder, whose files are then moved
into place. Its cache lives in the project folder, so a kept project (``--work``) builds warm.

Either engine's warnings (a broken link in an editor's text, say) are captured and returned,
not printed, so the command line can report them with the records' problems.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ENGINES = ("mkdocs", "zensical")

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")   # hide Material's end-of-life banner


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class MkDocsFailed(Exception):
    """MkDocs stopped with an error: nothing was built."""


def build(config_file: Path, site_dir: Path, engine: str = "mkdocs") -> list[str]:
    """Build the project of ``config_file`` into ``site_dir``; return the engine's warnings."""
    if engine == "zensical":
        return build_zensical(config_file, site_dir)
    if engine != "mkdocs":
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    logger = logging.getLogger("mkdocs")
    capture = _Capture()
    propagate = logger.propagate
    logger.addHandler(capture)
    logger.propagate = False
    try:
        config = load_config(str(config_file), site_dir=str(site_dir))
        config.plugins.on_startup(command="build", dirty=False)
        try:
            mkdocs_build(config)
        finally:
            config.plugins.on_shutdown()
    except MkDocsException as err:
        raise MkDocsFailed(str(err)) from err
    finally:
        logger.removeHandler(capture)
        logger.propagate = propagate
    return capture.messages


def zensical_command() -> list[str]:
    """How to run Zensical: its command beside this Python (the virtual environment's)."""
    beside = Path(sys.executable).with_name("zensical")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("zensical")
    if found is None:
        raise MkDocsFailed("Zensical is not installed: run `bash scripts/setup.sh` "
                           "(it is pinned in requirements.txt)")
    return [found]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_WHERE = re.compile(r"\[\s*([^\]\s]+\.md):(\d+):\d+\s*\]")


def zensical_warnings(output: str) -> list[str]:
    """Zensical's report (coloured boxes) as one line per warning: "message in 'page.md',
    line N", the page in quotes as MkDocs writes it, so pipeline.mkdocs_problems finds it."""
    found: list[str] = []
    pending: str | None = None
    for line in _ANSI.sub("", output).splitlines():
        text = line.strip()
        head = re.match(r"(?i)(warning|error):\s*(.+)", text)
        if head:
            if pending:
                found.append(pending)
            pending = head.group(2)
            continue
        where = _WHERE.search(text)
        if where and pending:
            found.append(f"{pending} in '{where.group(1)}', line {where.group(2)}")
            pending = None
    if pending:
        found.append(pending)
    return found


def build_zensical(config_file: Path, site_dir: Path) -> list[str]:
    config_file = Path(config_file).resolve()
    project = config_file.parent
    built = project / "site"                      # the generated mkdocs.yml's site_dir
    env = dict(os.environ, NO_COLOR="1")
    done = subprocess.run([*zensical_command(), "build", "--config-file", str(config_file)],
                          cwd=project, env=env, capture_output=True, text=True)
    output = done.stdout + done.stderr
    if done.returncode != 0 or not (built / "index.html").is_file():
        tail = "\n".join(_ANSI.sub("", output).strip().splitlines()[-15:])
        raise MkDocsFailed(f"Zensical stopped (exit code {done.returncode}): {tail}")
    site_dir = Path(site_dir)
    site_dir.mkdir(parents=True, exist_ok=True)
    for entry in os.listdir(built):
        target = site_dir / entry
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        shutil.move(str(built / entry), str(target))   # a rename where it can, else a copy
    return zensical_warnings(output)

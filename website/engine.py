"""The generated MkDocs project → HTML. Imports MkDocs lazily (as serve.py does), so
``build.py check`` stays fast.

MkDocs' own warnings (a broken link in an editor's text, say) are captured and returned, not
printed, so the command line can report them with the records' problems.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")   # hide Material's end-of-life banner


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class MkDocsFailed(Exception):
    """MkDocs stopped with an error: nothing was built."""


def build(config_file: Path, site_dir: Path) -> list[str]:
    """Build the project of ``config_file`` into ``site_dir``; return MkDocs' warnings."""
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

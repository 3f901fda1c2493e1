"""`iteach-app --log-file PATH`: a plain-text copy of what the console shows, appended to PATH.

stdout and stderr are wrapped by a tee: everything still reaches the terminal unchanged, and the
log gets the finished lines with colours and cursor codes removed, each a record of the stdlib
``logging`` logger ``iteach_app.console`` whose file handler heads it with the local time it was
written (``2026-12-06 09:12:03``); the transient progress bars (rich's bar glyph) are left out, as
they vanish from the terminal too.
"""

from __future__ import annotations

import datetime
import logging
import re
import sys
from pathlib import Path
from typing import Any, TextIO

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_BAR = "━"


LOGGER = "iteach_app.console"
LINE_FORMAT = "%(asctime)s %(message)s"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class ConsoleTee:
    """A text stream that writes to `stream` and logs its finished plain lines to `log` (a
    `logging.Logger`, one INFO record per line)."""

    def __init__(self, stream: TextIO, log: logging.Logger) -> None:
        self.stream, self.log, self._pending = stream, log, ""

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        self._pending += _ESCAPES.sub("", text)
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            shown = line.rsplit("\r", 1)[-1].rstrip()
            if _BAR not in shown:
                self.log.info(shown)
        return written

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)  # isatty, fileno, encoding...: the terminal's


def open_log(path: Path) -> logging.Logger:
    """The console logger, writing to `path` (appended, its folder made) after a header naming
    the command; an unwritable path raises OSError naming it."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"--log-file {path} is a folder; give a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    except OSError as err:
        raise OSError(f"--log-file {path}: cannot write ({err.strerror or err})") from None
    stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    handler.stream.write(f"# {stamp} iteach-app {' '.join(sys.argv[1:])}\n")
    handler.setFormatter(logging.Formatter(LINE_FORMAT, TIME_FORMAT))
    log = logging.getLogger(LOGGER)
    log.setLevel(logging.INFO)
    log.propagate = False  # the console already shows these lines
    log.addHandler(handler)
    return log


def start_tee(path: Path) -> tuple[logging.Logger, TextIO, TextIO]:
    """Tee sys.stdout and sys.stderr into the log at `path`; returns what `stop_tee` needs."""
    log = open_log(path)
    saved = (sys.stdout, sys.stderr)
    sys.stdout = ConsoleTee(sys.stdout, log)  # type: ignore[assignment]
    sys.stderr = ConsoleTee(sys.stderr, log)  # type: ignore[assignment]
    return log, *saved


def stop_tee(log: logging.Logger, stdout: TextIO, stderr: TextIO) -> None:
    """Put the streams back, log any unfinished line, and close the log file."""
    for tee in (sys.stdout, sys.stderr):
        if isinstance(tee, ConsoleTee) and tee._pending.strip():
            tee.log.info(tee._pending.rsplit("\r", 1)[-1].rstrip())
    sys.stdout, sys.stderr = stdout, stderr
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()

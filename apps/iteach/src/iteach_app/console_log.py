"""`iteach-app --log-file PATH`: a plain-text copy of what the console shows, appended to PATH.

stdout and stderr are wrapped by a tee: everything still reaches the terminal unchanged, and the
log gets the finished lines with colours and cursor codes removed, each headed by the local time
it was written (``2026-12-06 09:12:03``); the transient progress bars (rich's bar glyph) are left
out, as they vanish from the terminal too.
"""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path
from typing import Any, TextIO

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_BAR = "━"


def _stamp() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


class ConsoleTee:
    """A text stream that writes to `stream` and appends its finished plain lines to `log`,
    each prefixed by `clock()` (the local time) and a space."""

    def __init__(self, stream: TextIO, log: TextIO, clock: Any = _stamp) -> None:
        self.stream, self.log, self._pending, self.clock = stream, log, "", clock

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        self._pending += _ESCAPES.sub("", text)
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            shown = line.rsplit("\r", 1)[-1].rstrip()
            if _BAR not in shown:
                self.log.write(f"{self.clock()} {shown}\n")
        self.log.flush()
        return written

    def flush(self) -> None:
        self.stream.flush()
        self.log.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)  # isatty, fileno, encoding...: the terminal's


def open_log(path: Path) -> TextIO:
    """Open `path` for appending (its folder made) and write a header naming the command;
    an unwritable path raises OSError naming it."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"--log-file {path} is a folder; give a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        log = path.open("a", encoding="utf-8")
    except OSError as err:
        raise OSError(f"--log-file {path}: cannot write ({err.strerror or err})") from None
    stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    log.write(f"# {stamp} iteach-app {' '.join(sys.argv[1:])}\n")
    return log


def start_tee(path: Path) -> tuple[TextIO, TextIO, TextIO]:
    """Tee sys.stdout and sys.stderr into the log at `path`; returns what `stop_tee` needs."""
    log = open_log(path)
    saved = (sys.stdout, sys.stderr)
    sys.stdout = ConsoleTee(sys.stdout, log)  # type: ignore[assignment]
    sys.stderr = ConsoleTee(sys.stderr, log)  # type: ignore[assignment]
    return log, *saved


def stop_tee(log: TextIO, stdout: TextIO, stderr: TextIO) -> None:
    """Put the streams back and close the log."""
    for tee in (sys.stdout, sys.stderr):
        if isinstance(tee, ConsoleTee) and tee._pending.strip():
            tee.log.write(f"{tee.clock()} {tee._pending.rsplit(chr(13), 1)[-1].rstrip()}\n")
    sys.stdout, sys.stderr = stdout, stderr
    log.close()

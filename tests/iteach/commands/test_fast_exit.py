"""The console script ends without the interpreter's teardown, yet loses nothing: output is
flushed, atexit handlers run, the exit status is kept, and a running non-daemon thread is waited
for (the normal exit)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_finish_flushes_runs_handlers_and_keeps_the_status(tmp_path: Path) -> None:
    marker = tmp_path / "handler-ran"
    out = _python(
        "import atexit, sys\n"
        "from iteach_app.fast_exit import finish\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('yes'))\n"
        "sys.stdout.write('no newline at the end')\n"
        "sys.stderr.write('to stderr')\n"
        "finish(3)\n"
        "print('never reached')\n"
    )
    assert out.returncode == 3
    assert out.stdout == "no newline at the end"
    assert out.stderr == "to stderr"
    assert marker.read_text() == "yes"


def test_finish_waits_for_a_running_thread(tmp_path: Path) -> None:
    marker = tmp_path / "thread-done"
    out = _python(
        "import threading, time\n"
        "from iteach_app.fast_exit import finish, others_running\n"
        "def work():\n"
        "    time.sleep(0.5)\n"
        f"    open({str(marker)!r}, 'w').write('done')\n"
        "threading.Thread(target=work).start()\n"
        "assert others_running()\n"
        "finish(4)\n"
    )
    assert out.returncode == 4
    assert marker.read_text() == "done"


@pytest.mark.parametrize(
    ("args", "status", "text"),
    [
        (["--version"], 0, "iteach-app "),
        (["train", "--epochs", "-3"], 2, "epochs must be > 0"),
        (["no-such-command"], 2, "error:"),
    ],
)
def test_console_entry_statuses(args: list[str], status: int, text: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "iteach_app", *args], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == status, out.stderr
    assert text in out.stdout + out.stderr

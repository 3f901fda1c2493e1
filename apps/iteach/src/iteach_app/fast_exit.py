"""Ending the `iteach-app` process without Python's interpreter teardown.

After a command has finished, CPython frees every module and torch's shared libraries run their
finalisers: 0.4 s on a 2-core CPU (measured between a script's last line and the process's
exit_group), about a seventh of a 1-epoch run's whole fixed cost, spent on nothing the user
sees. `finish` flushes the output streams, runs every ``atexit`` handler (trackers, loggers and
the like close their files there as usual), then ends the process at once with ``os._exit``. It
falls back to a normal ``sys.exit`` where that would lose something: a non-daemon thread still
running (the interpreter would wait for it), or a Python without ``atexit._run_exitfuncs``.
Only the console entry (`iteach_app.cli.run`) calls it; `app()` itself, as tests and library
users call it, exits the normal way.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn


def _flush() -> bool:
    """Flush stdout and stderr; False where one cannot be flushed (e.g. a closed pipe)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return False
    return True


def others_running() -> bool:
    """A non-daemon thread other than the main one is still alive."""
    main = threading.main_thread()
    return any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate())


def finish(code: int) -> NoReturn:
    """End the process with exit status ``code``: streams flushed and atexit handlers run, the
    interpreter's teardown skipped (or a normal ``sys.exit`` where skipping it is not safe)."""
    run_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_handlers is None or others_running() or not _flush():
        sys.exit(code)
    run_handlers()
    if not _flush():
        sys.exit(code)
    os._exit(code)

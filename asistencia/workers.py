"""`serve --workers N`: N server processes on one port (SO_REUSEPORT), one supervising parent.

The parent forks the workers before any event loop or thread exists, then only waits:
- SIGTERM or SIGINT to the parent is passed on to every worker as SIGTERM; each drains as a
  single server does (SHUTDOWN_TIMEOUT_SECONDS) and the parent exits 0 once all have, killing
  any still running a few seconds past that bound.
- A worker that exits on its own (a crash, a dependency gone at startup, the port taken) is
  logged; the parent stops the others and exits with that worker's code (1 if it had none),
  so the container's or the service manager's restart policy restarts the whole set instead
  of the parent hiding a crash loop.

Each worker is a whole server: its own pools and Valkey client, migrations applied under the
advisory lock (so exactly one worker applies a pending file), state shared only through
PostgreSQL and Valkey (SPEC §1). The kernel spreads new connections over the workers.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable

log = logging.getLogger("asistencia.workers")

_WATCHED = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
# Beyond the workers' own drain bound, before the parent kills what is left.
_KILL_AFTER_EXTRA_SECONDS = 5.0


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return code if code > 0 else 1


def _fork(serve_one: Callable[[], int], restore_mask: set[signal.Signals]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, restore_mask)
        code = serve_one()
    except BaseException:
        log.exception("worker failed")
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reap(workers: set[int]) -> list[tuple[int, int]]:
    exited = []
    while workers:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            break
        workers.discard(pid)
        exited.append((pid, status))
    return exited


def _terminate(workers: set[int], sig: signal.Signals = signal.SIGTERM) -> None:
    for pid in workers:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def supervise(count: int, serve_one: Callable[[], int], shutdown_timeout: float) -> int:
    """Run `serve_one` in `count` forked workers until a signal or a worker's exit; the exit code."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _WATCHED)
    workers: set[int] = set()
    try:
        for _ in range(count):
            workers.add(_fork(serve_one, previous))
        log.info("workers started", extra={"workers": sorted(workers)})
        result, kill_at = 0, None
        while workers:
            received = signal.sigtimedwait(_WATCHED, 0.5)
            if received is not None and received.si_signo in (signal.SIGTERM, signal.SIGINT) and kill_at is None:
                log.info("stopping workers", extra={"signal": signal.Signals(received.si_signo).name})
                kill_at = time.monotonic() + shutdown_timeout + _KILL_AFTER_EXTRA_SECONDS
                _terminate(workers)
            for pid, status in _reap(workers):
                if kill_at is None:
                    result = _exit_code(status)
                    log.error("worker exited; stopping the others",
                              extra={"worker": pid, "exit_code": os.waitstatus_to_exitcode(status)})
                    kill_at = time.monotonic() + shutdown_timeout + _KILL_AFTER_EXTRA_SECONDS
                    _terminate(workers)
                elif os.waitstatus_to_exitcode(status) not in (0, -signal.SIGTERM) and result == 0:
                    result = _exit_code(status)
            if kill_at is not None and workers and time.monotonic() > kill_at:
                log.error("workers did not stop in time; killing them", extra={"workers": sorted(workers)})
                _terminate(workers, signal.SIGKILL)
                kill_at = float("inf")
        return result
    finally:
        _terminate(workers, signal.SIGKILL)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)

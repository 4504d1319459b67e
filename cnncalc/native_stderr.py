"""Keep what native code writes to the process's stderr out of the terminal: ``cnncalc`` and ``cnntrain`` without ``--verbose``.

TensorFlow's C++ runtime logs through file descriptor 2 directly (start-up notices such as
``cpu_feature_guard.cc``, absl's ``WARNING: All log messages before absl::InitializeLog()``,
graph notices like ``node_def_util.cc ... use_unbounded_threadpool``), some of them before
``TF_CPP_MIN_LOG_LEVEL`` is read, so an environment variable alone cannot silence them.
:func:`redirected` points descriptor 2 at a log file while Python's ``sys.stderr`` keeps a
duplicate of the original descriptor: every line the program itself prints (progress, errors,
warnings, tracebacks) still reaches the terminal, the native notices land in the file
(``cnntrain``: the run's ``native.log``; ``cnncalc``: nowhere, it has no run directory). It
imports only the standard library (and :mod:`cnncalc.confined`), so both commands load it before
TensorFlow.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager


@contextmanager
def redirected(path=None):
    """Within the block, descriptor 2 writes to ``path`` (appended; opened without following a
    link, :mod:`cnncalc.confined`), or nowhere when ``path`` is ``None``; ``sys.stderr`` still
    reaches the terminal.

    When ``sys.stderr`` writes to descriptor 2 itself (a console), it is replaced for the block by
    a stream on a duplicate of the original descriptor; a ``sys.stderr`` that writes elsewhere (a
    test's capture, an embedding program's stream) is left alone.
    """
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):  # no stderr, or a closed one
        pass
    try:
        on_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        on_fd2 = False
    try:
        saved = os.dup(2)
    except OSError:  # descriptor 2 is closed: nothing reaches a terminal anyway
        yield
        return
    if path is None:
        log = os.open(os.devnull, os.O_WRONLY)
    else:
        from .confined import open_file

        try:
            log = open_file(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)  # a native.log linked elsewhere is refused, never appended to
        except BaseException:
            os.close(saved)
            raise
    old = sys.stderr
    terminal = None
    if on_fd2:
        encoding = getattr(old, "encoding", None) or "utf-8"
        terminal = os.fdopen(os.dup(saved), "w", buffering=1, encoding=encoding, errors="backslashreplace")
    try:
        os.dup2(log, 2)
        if terminal is not None:
            sys.stderr = terminal
        yield
    finally:
        if terminal is not None:
            terminal.flush()
            sys.stderr = old
            terminal.close()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(log)

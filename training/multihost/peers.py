"""One writer: process 0 owns the run directory; every other process works in a private copy.

The recipes write as they go (config, status, history, traces, checkpoints, plots, sub-runs of a
sweep) and read their own files back (a sweep skips its finished sub-runs, a run trained to
convergence restores its best epoch from its checkpoint, the plots are drawn from
``history.csv``). Every process must take the same decisions in the same order, because each
decision leads to the same collectives; but only process 0 may write the run directory. So the
other processes run the same recipe in a private directory of their own (a temporary directory,
removed when the process ends): empty for a new run, a copy of the run directory's files for a
resume (the checkpoints, history and state files; not the plots, logs or lock), taken before
process 0 writes anything. They never write the run directory, and they read it only to make
that copy: resuming needs the run directory on a file system every process sees.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_NOT_COPIED = shutil.ignore_patterns("*.png", "native.log", ".lock", ".tmp-*", ".staging-*")
_ROOTS: list[str] = []


def private_directory(run_path: str, process: int, *, resume: bool) -> str:
    """The directory process ``process`` (not 0) works in for the run at ``run_path``.

    A new temporary directory, removed when the process ends; for a resume it holds a copy of
    the run directory's files (symbolic links are copied as links, never followed).
    """
    root = tempfile.mkdtemp(prefix=f"cnntrain-process{process}-")
    if not _ROOTS:
        atexit.register(remove_all)
    _ROOTS.append(root)
    path = os.path.join(root, os.path.basename(os.path.normpath(run_path)) or "run")
    if resume:
        shutil.copytree(run_path, path, symlinks=True, ignore=_NOT_COPIED)
    else:
        os.makedirs(path)
    return path


def remove_all() -> None:
    """Remove every private directory this process made (at exit, and before ``os._exit``)."""
    while _ROOTS:
        shutil.rmtree(_ROOTS.pop(), ignore_errors=True)

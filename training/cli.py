"""``cnntrain``: run the exercises' experiments reproducibly, resume them, report on them.

::

    cnntrain data fashion_mnist --summary --samples 3 --out runs/fmnist
    cnntrain clr --dataset fashion_mnist --model minigooglenet --preset quick
    cnntrain resume runs/clr/2026-11-23_101500
    cnntrain report runs/*

Every experiment takes ``--preset quick|paper`` plus overrides (``--epochs``, ``--batch-size``,
``--lr``, ``--seed``, ``--out``, ...). Bad input prints one ``error: ...`` line and exits 2; a
NaN/infinite loss stops the run (exit 2) keeping its last good checkpoint; Ctrl-C stops cleanly
(exit 130; SIGTERM alike, exit 143) and ``cnntrain resume`` continues. One process at a time
works in a run directory (a second one is refused, naming the first one's pid).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_INTERNAL, EXIT_TERMINATED = 0, 2, 130, 3, 143
NATIVE_LOG = "native.log"  # TensorFlow's native notices of a run without --verbose, in its run directory

# ``cnntrain data --samples K`` draws 10 x K plot axes; beyond this the grid only costs memory.
MAX_GRID_SAMPLES = 32


class UsageError(ValueError):
    """Bad command-line input."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread: a run stops as on Ctrl-C (marked interrupted)."""


def _on_sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not interrupt the cleanup
    raise Terminated()


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        from cnncalc.cli import with_choices  # a missing argument's message names its choices

        raise UsageError(with_choices(self, message))


# The common options (training.experiments.COMMON_OPTIONS): flag and argparse settings by dest.
_COMMON_ARGS = {
    "dataset": ("--dataset", {"help": "dataset"}),
    "model": ("--model", {"help": "zoo model (see 'cnncalc list')"}),
    "epochs": ("--epochs", {"type": int}),
    "batch_size": ("--batch-size", {"type": int}),
    "lr": ("--lr", {"type": float, "help": "learning rate"}),
    "seed": ("--seed", {"type": int}),
    "data_dir": ("--data-dir", {"help": "where the dataset files are (default: system package, Keras cache)"}),
    "subset": ("--subset", {"type": int, "help": "use this many training images"}),
    "test_subset": ("--test-subset", {"type": int, "help": "use this many test images"}),
    "target_acc": ("--target-acc", {"type": float, "help": "record epochs and wall time to reach this validation accuracy"}),
    "distribute": ("--distribute", {"choices": ("mirrored", "multi-host"), "help": "mirrored: every device of this machine "
                                    "(tf.distribute.MirroredStrategy, TensorFlow backend); multi-host: every device of several "
                                    "processes or machines (JAX's distributed runtime, KERAS_BACKEND=jax; see docs/distributed.md)"}),
}
# How a process of a multi-host run finds the others (not stored: a resume may use another address).
_LAUNCH_ARGS = {
    "coordinator": ("--coordinator", {"metavar": "HOST:PORT", "help": "address of process 0, which listens on PORT (default: found by JAX's cluster detection: Slurm, Open MPI, ...)"}),
    "num_processes": ("--num-processes", {"type": int, "metavar": "N", "help": "number of processes (default: from the cluster)"}),
    "process_id": ("--process-id", {"type": int, "metavar": "I", "help": "this process's index, 0..N-1; process 0 writes the run directory (default: from the cluster)"}),
    "start_timeout": ("--start-timeout", {"type": float, "metavar": "S", "help": "seconds the processes wait for each other at start (default 300)"}),
    "heartbeat_timeout": ("--heartbeat-timeout", {"type": int, "metavar": "S", "help": "seconds of silence after which a process counts as lost and the others stop (default 100)"}),
}


def _add_launch(parser) -> None:
    group = parser.add_argument_group("multi-host (--distribute multi-host, every process the same command but --process-id)")
    for flag, kwargs in _LAUNCH_ARGS.values():
        group.add_argument(flag, **kwargs)


def _add_common(parser, exp):
    group = parser.add_argument_group("common options (override the preset)")
    group.add_argument("--preset", default="quick", choices=sorted(exp.presets), help="quick: under 3 minutes on a 2-core CPU; paper: the exercise's settings (default quick)")
    for dest, (flag, kwargs) in _COMMON_ARGS.items():
        if dest in exp.common:
            group.add_argument(flag, **({"choices": exp.datasets, **kwargs} if dest == "dataset" else kwargs))
    group.add_argument("--out", help="run directory (default runs/EXPERIMENT/DATE_TIME)")
    group.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    group.add_argument("--verbose", action="store_true", help="let TensorFlow's native notices through to the terminal (else they go to native.log in the run directory)")
    for option in exp.options:
        parser.add_argument(option.flag, **option.argparse_kwargs())
    if "distribute" in exp.common:
        _add_launch(parser)


def build_parser():
    from .experiments import load_recipes

    parser = _Parser(prog="cnntrain", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    data = sub.add_parser("data", help="dataset sizes, per-class counts and an image grid")
    data.add_argument("dataset", choices=("fashion_mnist", "cifar10"))
    data.add_argument("--data-dir")
    data.add_argument("--val-fraction", type=float, default=None, help="fraction of the training images held out for validation (default 0.1, as every experiment)")
    data.add_argument("--seed", type=int, default=0, help="seed of the validation split (default 0, the experiments' default)")
    data.add_argument("--summary", action="store_true", help="print sizes and per-class counts")
    data.add_argument("--samples", type=int, default=0, metavar="K", help="write a grid of K images per class")
    data.add_argument("--out", default=None, help="where to write summary.json and samples.png")

    resume = sub.add_parser("resume", help="continue an interrupted run")
    resume.add_argument("run_dir")
    resume.add_argument("--quiet", action="store_true")
    resume.add_argument("--verbose", action="store_true", help="let TensorFlow's native notices through to the terminal")
    resume.add_argument("--distribute", choices=("mirrored", "multi-host"), help="as the run was started (default: as stored in its config.json)")
    _add_launch(resume)

    report = sub.add_parser("report", help="markdown tables and combined plots of runs")
    report.add_argument("run_dirs", nargs="+")
    report.add_argument("--out", help="write report.md and plots here (default: print the tables)")
    report.add_argument("--html", metavar="FILE", help="also write one self-contained page: the table, curves, traces, the finders' plots and bounds, each run's configuration")

    for exp in load_recipes().values():
        _add_common(sub.add_parser(exp.name, help=exp.help, description=exp.help), exp)
    return parser


def require(what: str, modules: dict) -> None:
    """A one-line usage error, before any run directory exists, when a needed package is missing."""
    import importlib.util

    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        extras = ",".join(dict.fromkeys(modules[name] for name in missing))
        raise UsageError(f"{what} needs {' and '.join(missing)} (not installed): pip install 'cnncalc[{extras}]'")


def _run_experiment(args) -> int:
    from .experiments import Context, check_data, default_out, load_recipes, resolve_config
    from .runs import RunDir

    exp = load_recipes()[args.command]
    require(f"cnntrain {args.command}", exp.requires)
    keys = list(exp.common) + [o.dest for o in exp.options]
    overrides = {k: getattr(args, k, None) for k in keys}
    config = resolve_config(exp, args.preset, overrides)
    run = RunDir(args.out or default_out(exp.name))
    launch = _launch(args, config.get("distribute"))
    if launch is not None:
        from .cli_multihost import run_experiment

        return run_experiment(exp, config, run, launch, args)

    refuse_a_started_run(run)
    ctx = Context(config, run, verbose=0 if args.quiet else 1)
    check_data(exp, config, ctx.dataset())  # a missing or bad dataset: an error before anything is written
    with run.locked():
        refuse_a_started_run(run)  # again, under the lock: another process may have started meanwhile
        if run.exists("config.json"):
            print(f"starting again in '{run.path}': its earlier run stopped before its first epoch ({run.status().get('state')})", file=sys.stderr)
        run.create(config, overwrite=True)
        print(f"run directory: {run.path}", file=sys.stderr)
        return _execute(exp, ctx, args.verbose)


def refuse_a_started_run(run) -> None:
    """A one-line error when ``run`` holds a run that trained (one that stopped before its first
    epoch may be started again in place)."""
    from .runs import RunError

    if run.exists("config.json") and not run.stopped_before_first_epoch():
        raise RunError(f"run directory '{run.path}' already holds a run: resume it with 'cnntrain resume {run.path}' or choose another --out")


def resumable(run):
    """``(config, experiment)`` of the run directory ``run``; a one-line error for a sweep's
    sub-run (the sweep resumes as a whole) or an unknown experiment."""
    from .experiments import load_recipes
    from .runs import RunError

    config = run.config()
    if config.get("subrun"):
        parent = os.path.dirname(os.path.abspath(run.path))
        raise RunError(f"'{run.path}' is the sub-run '{config['subrun']}' of the sweep '{parent}': resume the sweep with 'cnntrain resume {parent}'")
    exp = load_recipes().get(config.get("experiment"))
    if exp is None:
        raise RunError(f"'{run.file('config.json')}' names an unknown experiment '{config.get('experiment')}'")
    return config, exp


def _resume(args) -> int:
    from .experiments import Context, check_config
    from .runs import RunDir, RunError

    run = RunDir(args.run_dir)
    if args.distribute == "multi-host" or (args.distribute is None and _stored_distribute(run) == "multi-host"):
        from .cli_multihost import resume

        return resume(run, _launch(args, "multi-host"), args)
    _launch(args, args.distribute)  # launch flags without multi-host: a usage error
    config, exp = resumable(run)
    if args.distribute is not None and args.distribute != config.get("distribute"):
        raise RunError(f"'{run.path}' was started with --distribute {config.get('distribute')}, not {args.distribute}: resume it as it was started")
    with run.locked():
        status = run.status()
        if status.get("state") == "finished" and run.exists("results.json"):
            print(f"run '{run.path}' already finished; nothing to resume", file=sys.stderr)
            return EXIT_OK
        try:
            check_config(exp, config)
        except (RunError, ValueError, TypeError) as exc:  # a hand-edited value of the wrong type, too
            raise RunError(f"'{run.file('config.json')}': {exc}") from None
        require("cnntrain resume", exp.requires)
        return _execute(exp, Context(config, run, resume=True, verbose=0 if args.quiet else 1), args.verbose)


def _launch(args, distribute):
    """The multi-host launch of the command line (:class:`training.multihost.Launch`), or None
    when the run is not multi-host; a launch flag without ``--distribute multi-host`` is a usage error."""
    given = [flag for dest, (flag, _) in _LAUNCH_ARGS.items() if getattr(args, dest, None) is not None]
    if distribute != "multi-host":
        if given:
            raise UsageError(f"{given[0]} needs --distribute multi-host")
        return None
    from .multihost import runtime

    start = runtime.DEFAULT_START_TIMEOUT if args.start_timeout is None else args.start_timeout
    heartbeat = runtime.DEFAULT_HEARTBEAT_TIMEOUT if args.heartbeat_timeout is None else args.heartbeat_timeout
    return runtime.Launch(args.coordinator, args.num_processes, args.process_id, start, heartbeat)


def _stored_distribute(run):
    """The ``distribute`` a run directory's config.json records, or None when it cannot be read."""
    from .runs import RunError

    try:
        return run.config().get("distribute")
    except RunError:
        return None


def _execute(exp, ctx, verbose: bool = False, *, prelude: str = "", announce: bool = True) -> int:
    """Run the recipe in its (locked) directory (``experiments.execute``: the status always says
    how it ended, ``finished`` last); TensorFlow's native notices go to ``native.log`` unless
    ``--verbose`` (``prelude``: native notices written before the run directory existed).
    Under a Keras backend other than TensorFlow, TensorFlow is kept out of the process
    (:func:`training.keras_backend.keep_tensorflow_out`)."""
    from contextlib import nullcontext

    from .experiments import execute
    from cnncalc.native_stderr import redirected

    if prelude and not verbose:
        with open(ctx.file(NATIVE_LOG), "a", encoding="utf-8") as log:
            log.write(prelude)
    # TensorFlow is first imported inside: its native notices go to native.log unless --verbose.
    with nullcontext() if verbose else redirected(ctx.file(NATIVE_LOG)):
        if "keras" in exp.requires:
            from .keras_backend import keep_tensorflow_out

            keep_tensorflow_out()
        execute(exp, ctx)
    if announce:
        print(f"done: {ctx.path}", file=sys.stderr)
    return EXIT_OK


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its class name when it has none."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _data(args) -> int:
    from .data import VAL_FRACTION, format_summary, load, summarize

    if not 0 <= args.samples <= MAX_GRID_SAMPLES:
        raise UsageError(f"--samples must lie in 0..{MAX_GRID_SAMPLES} images per class (one plot axis each), got {args.samples}")
    if args.samples:
        require("cnntrain data --samples", {"matplotlib": "plots"})
    fraction = VAL_FRACTION if args.val_fraction is None else args.val_fraction
    if not 0 <= fraction < 1:
        raise UsageError(f"--val-fraction must lie in [0, 1), got {fraction}")
    # The split every experiment trains on (Context.dataset): the same fraction and seed.
    dataset = load(args.dataset, args.data_dir, normalization="none", val_fraction=fraction, seed=args.seed)
    summary = summarize(dataset)
    if args.summary or not args.samples:
        print(format_summary(summary))
    if args.out:
        from cnncalc.atomic import write_json

        os.makedirs(args.out, exist_ok=True)
        write_json(os.path.join(args.out, "summary.json"), summary)
    if args.samples:
        path = os.path.join(args.out or ".", "samples.png")
        from .plots import image_grid

        image_grid(dataset.x_train, dataset.y_train, dataset.class_names, path, per_class=args.samples)
        print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK


def _report(args) -> int:
    from .runs.report import report

    def wrote(path):
        print(f"wrote {path} ({os.path.getsize(path):,} bytes)", file=sys.stderr)

    text = report(args.run_dirs, out=args.out, note=lambda message: print(message, file=sys.stderr), html=args.html, wrote=wrote)
    print(text)
    return EXIT_OK


def main(argv=None) -> int:
    """Entry point of the ``cnntrain`` console script; returns the exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = list(sys.argv[1:] if argv is None else argv)
    on_main_thread = threading.current_thread() is threading.main_thread()  # where signals arrive
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if on_main_thread else None
    try:
        code = _main(argv)
    finally:
        if on_main_thread and previous is not None:  # None: a handler not set from Python
            signal.signal(signal.SIGTERM, previous)
    _end_if_abandoned(code)
    return code


def _end_if_abandoned(code: int) -> None:
    """A multi-host process that lost process 0 ends here (``os._exit``), its private directory
    removed and its output flushed: JAX's exit handler would end it with a native fatal error."""
    runtime = sys.modules.get("training.multihost.runtime")
    if runtime is None or not runtime.abandoned():
        return
    from .multihost.peers import remove_all

    remove_all()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _dispatch(argv) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "data":
        return _data(args)
    if args.command == "resume":
        return _resume(args)
    if args.command == "report":
        return _report(args)
    return _run_experiment(args)


def _main(argv) -> int:
    from .runs import NonFiniteLoss, RunError

    try:
        try:
            return _dispatch(argv)
        except Exception as exc:  # a multi-host run whose collective failed because a process is gone
            lost = _peer_loss(exc)
            if lost is None:
                raise
            raise lost from None
    except NonFiniteLoss as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (UsageError, RunError, ValueError, OSError) as exc:
        message = _first_line(exc)
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        if _is_peer_lost(exc):
            print(f"error: {exc}; the last completed epoch is saved (cnntrain resume DIR continues, on every process)", file=sys.stderr)
            from .multihost import EXIT_PEER_LOST

            return EXIT_PEER_LOST
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"error: {what}; the last completed epoch is saved (cnntrain resume DIR continues)", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    except Exception as exc:  # a bug, not bad input
        if os.environ.get("CNNTRAIN_DEBUG"):
            raise
        print(f"error: internal error ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); set CNNTRAIN_DEBUG=1 for the traceback", file=sys.stderr)
        return EXIT_INTERNAL


def _peer_loss(exc):
    """:class:`training.multihost.PeerLost` behind ``exc`` in a multi-host run (loaded only then), else None."""
    module = sys.modules.get("training.multihost")
    return None if module is None else module.peer_loss(exc)


def _is_peer_lost(exc) -> bool:
    module = sys.modules.get("training.multihost")
    return module is not None and isinstance(exc, module.PeerLost)


if __name__ == "__main__":
    sys.exit(main())

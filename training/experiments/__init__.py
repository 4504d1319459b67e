"""Experiment recipes: each exercise's experiment is a small module registering one :class:`Experiment`.

A recipe declares its presets (``quick``: under 3 minutes on a 2-core CPU; ``paper``: the
exercise's exact settings), its own command-line options, and a ``run(ctx)`` function that trains
through :class:`Context` and writes its plots and tables into the run directory. ``run`` must be
idempotent: ``cnntrain resume DIR`` calls it again with the stored config, and every sub-run that
already finished is skipped while an interrupted one continues from its checkpoint.

:func:`load_recipes` imports every module of this package, so adding an experiment is adding a
module. A recipe module is named for what it runs, never like a library module beside it
(``range_tests.py`` runs :mod:`training.finders`, ``optimizer_comparison.py`` compares
:mod:`training.optimizers`, ``two_layer_net.py`` runs :mod:`training.numpy_net`), so a name says
which wing it belongs to. An experiment that trains no Keras model (``numpy-net``) declares the
common options it takes and that it requires no Keras; the CLI knows nothing else about it.

Runs chain: an :class:`Option` with ``reads=ReadsRun(...)`` (``clr --bounds-from RUN``) takes its
values from another run's ``results.json`` when the config is resolved, and records the run and
the values in the new run's config; :meth:`Context.stage` runs a recipe as a stage (a sub-run) of
another one, which is how ``policies`` chains the exercise's four experiments.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from ..runs import Convergence, RunDir, RunError, TrainingPlan, train


# The common options a Keras experiment accepts; None means "take the preset's value". An
# experiment that trains no Keras model (numpy-net) names the subset that applies to it.
COMMON_OPTIONS = ("dataset", "model", "epochs", "batch_size", "lr", "seed", "data_dir", "subset", "test_subset", "distribute", "target_acc")

# What a Keras experiment imports, and the extras of pyproject.toml that install it: checked by
# ``cnntrain`` before any run directory exists, so a missing package is a one-line usage error.
KERAS_REQUIRES = {"keras": "keras", "matplotlib": "plots"}


@dataclass(frozen=True)
class ReadsRun:
    """What a chaining option (``--bounds-from RUN``) takes from another run's ``results.json``.

    ``source``: the experiment that must have made the run; ``keys``: its result key -> our config
    key (``{"lr_min": "lr"}`` for ``batch-range --lr-from``).
    """

    source: str
    keys: dict


@dataclass
class Option:
    """One experiment-specific command-line option (``--flag``), stored in the config as ``dest``."""

    flag: str
    help: str
    type: Callable = str
    nargs: str | None = None
    choices: tuple | None = None
    flag_only: bool = False  # a switch (argparse store_true); None when absent, so the preset decides
    reads: ReadsRun | None = None  # a chaining option: its value is a run directory to read settings from

    def argparse_kwargs(self) -> dict:
        """The keyword arguments for ``ArgumentParser.add_argument``."""
        if self.flag_only:
            return {"help": self.help, "action": "store_true", "default": None}
        kwargs = {"help": self.help, "type": self.type}
        if self.nargs:
            kwargs["nargs"] = self.nargs
        if self.choices:
            kwargs["choices"] = self.choices
        return kwargs

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


# Training to convergence (``training.runs.Convergence``): the options of the experiments that offer it.
CONVERGENCE_OPTIONS = (
    Option("--until-convergence", "train until the validation loss stops improving (--patience, --min-delta), at most --epochs epochs; the best epoch's weights are tested", flag_only=True),
    Option("--patience", "with --until-convergence: epochs without improvement before stopping", int),
    Option("--min-delta", "with --until-convergence: the least fall of the validation loss that counts as an improvement", float),
)
CONVERGENCE_DEFAULTS = {"until_convergence": False, "patience": 5, "min_delta": 0.0}


@dataclass
class Experiment:
    name: str
    help: str
    presets: dict
    run: Callable
    options: tuple = ()
    datasets: tuple = ("fashion_mnist", "cifar10")
    validate: Callable | None = None  # validate(config) raises RunError before any run directory exists
    validate_data: Callable | None = None  # validate_data(config, dataset): the same, for bounds the data sets
    common: tuple = COMMON_OPTIONS  # which of the common options it takes
    requires: dict = field(default_factory=lambda: dict(KERAS_REQUIRES))  # module -> extra that installs it


EXPERIMENTS: dict[str, Experiment] = {}


def experiment(name: str, help: str, presets: dict, options=(), datasets=("fashion_mnist", "cifar10"), validate=None,
               common=COMMON_OPTIONS, requires=KERAS_REQUIRES, validate_data=None):  # fmt: skip
    """Decorator registering ``run(ctx) -> dict`` as the experiment ``name``.

    ``validate(config)``, when given, checks the resolved config and raises :class:`RunError` with
    a one-line message; it runs before the run directory is created, so bad options leave nothing.
    ``validate_data(config, dataset)`` does the same for bounds only the loaded data sets (a
    batch size no larger than the training set); the CLI loads the data before creating anything.
    ``common`` lists the common options (:data:`COMMON_OPTIONS`) the experiment takes, and
    ``requires`` the modules it cannot run without, each with the extra that installs it.
    """

    def register(run):
        if name in EXPERIMENTS:
            raise RuntimeError(f"experiment '{name}' registered twice")
        for preset in ("quick", "paper"):
            if preset not in presets:
                raise RuntimeError(f"experiment '{name}' lacks the '{preset}' preset")
        unknown = sorted(set(common) - set(COMMON_OPTIONS))
        if unknown:
            raise RuntimeError(f"experiment '{name}' names unknown common options {unknown}")
        EXPERIMENTS[name] = Experiment(name, help, presets, run, tuple(options), tuple(datasets), validate, validate_data, tuple(common), dict(requires))
        return run

    return register


def load_recipes() -> dict[str, Experiment]:
    """Import every recipe module of this package (each registers itself on first import).

    Always walks the package: a recipe imported directly beforehand (a test, a user script) has
    registered only itself, and re-importing a loaded module is a dictionary lookup.
    """
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return EXPERIMENTS


def check_positive(config: dict, *keys) -> None:
    """A one-line :class:`RunError` naming the flag of the first of ``keys`` set to a value <= 0."""
    for key in keys:
        if config.get(key) is not None and not config[key] > 0:
            raise RunError(f"--{key.replace('_', '-')} must be positive, got {config[key]}")


def resolve_config(exp: Experiment, preset: str, overrides: dict) -> dict:
    """The preset's settings with every non-None override applied, plus what identifies the run.

    Every value is checked here (:func:`check_config`), before anything is written; path options
    are stored absolute, so the run resumes from any working directory.
    """
    if preset not in exp.presets:
        raise RunError(f"unknown preset '{preset}' for {exp.name} (known: {', '.join(exp.presets)})")
    config = dict(exp.presets[preset])
    config.update({k: v for k, v in overrides.items() if v is not None})
    for option in exp.options:
        if option.reads is not None and config.get(option.dest) is not None:
            taken = read_run(option, config[option.dest])
            given = ["--" + key.replace("_", "-") for key in taken if overrides.get(key) is not None]
            if given:
                raise RunError(f"give {' and '.join(given)} or {option.flag}, not both")
            config.update(taken)
            config[option.dest] = {"run": os.path.abspath(config[option.dest]), **taken}
    for key in PATH_OPTIONS:
        if config.get(key) is not None:
            config[key] = os.path.abspath(os.path.expanduser(config[key]))
    check_config(exp, config)
    return {"experiment": exp.name, "preset": preset, **config}


# Options that name a file or directory: stored absolute in config.json.
PATH_OPTIONS = ("data_dir",)


# The type of each common option's value (an experiment's own options declare theirs).
COMMON_TYPES = {"dataset": str, "model": str, "epochs": int, "batch_size": int, "lr": float, "seed": int, "data_dir": str,
                "subset": int, "test_subset": int, "distribute": str, "target_acc": float}  # fmt: skip
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def check_types(exp: Experiment, config: dict) -> None:
    """One-line :class:`RunError` naming the first key whose value has the wrong type or is not
    one of its choices: an integer setting must be an integer (``epochs: 13.7`` is refused, not
    truncated), a number a number, a policy one of its names. A value from the command line
    always passes (argparse converted it); this catches a hand-edited or foreign ``config.json``
    before ``int()`` or a schedule would coerce or trip over it. None means "not set"."""
    specs = {key: (kind, None, False) for key, kind in COMMON_TYPES.items() if key in exp.common}
    specs["distribute"] = (str, ("mirrored", "multi-host"), False)
    for option in exp.options:
        if option.reads is None:  # a chaining option stores the run it read and the values taken
            specs[option.dest] = (bool if option.flag_only else option.type, option.choices, bool(option.nargs))
    for key, (kind, choices, many) in specs.items():
        value = config.get(key)
        if value is None:
            continue
        values = value if many and isinstance(value, list) and value else [value]
        expected = _TYPE_NAMES.get(kind, kind.__name__)
        if many and values is not value:
            raise RunError(f"'{key}' is {_shown(value)}, expected a non-empty list of {expected.split(' ', 1)[-1]}s")
        for item in values:
            if not _is(item, kind):
                raise RunError(f"'{key}' is {_shown(item)}, expected {expected}")
            if choices and item not in choices:
                raise RunError(f"'{key}' is {_shown(item)}, expected one of {', '.join(map(str, choices))}")


def _is(value, kind) -> bool:
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_config(exp: Experiment, config: dict) -> None:
    """One-line :class:`RunError` for the first bad setting of ``config`` (resolved or stored).

    The types first (:func:`check_types`), then the common checks (positive sizes and rates,
    finite numbers, a seed NumPy accepts, momentum in [0, 1), a target accuracy in (0, 1], a zoo
    model), then the experiment's ``validate``.
    """
    check_types(exp, config)
    if config.get("until_convergence"):
        Convergence(config.get("patience", 5), config.get("min_delta", 0.0))  # a one-line RunError for bad values
    if config.get("dataset") not in exp.datasets:
        raise RunError(f"{exp.name} runs on {' or '.join(exp.datasets)}, not '{config.get('dataset')}'")
    for key, value in config.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise RunError(f"{_flag(key)} must be a finite number, got {value}")
    for key in ("epochs", "batch_size", "subset", "test_subset"):
        if config.get(key) is not None and int(config[key]) <= 0:
            raise RunError(f"{_flag(key)} must be positive, got {config[key]}")
    if config.get("lr") is not None and not float(config["lr"]) > 0:
        raise RunError(f"--lr must be positive, got {config['lr']}")
    if config.get("seed") is not None and not 0 <= int(config["seed"]) < 2**32:
        raise RunError(f"--seed must lie in [0, 2**32), got {config['seed']}")
    if config.get("momentum") is not None and not 0 <= float(config["momentum"]) < 1:
        raise RunError(f"--momentum must lie in [0, 1), got {config['momentum']}")
    if config.get("target_acc") is not None and not 0 < float(config["target_acc"]) <= 1:
        raise RunError(f"--target-acc is an accuracy in (0, 1], got {config['target_acc']}")
    if "model" in exp.common and config.get("model") is not None:  # numpy-net records its own net there
        from cnncalc import zoo

        if str(config["model"]).strip().lower().replace("_", "-") not in zoo.names():
            raise RunError(f"unknown --model '{config['model']}' (the zoo: {', '.join(zoo.names())})")
    if exp.validate is not None:
        exp.validate(config)


def check_data(exp: Experiment, config: dict, dataset) -> None:
    """The checks that need the loaded data: every split holds samples, the model fits its
    images (the calculator's own analysis, no Keras), then the experiment's ``validate_data``."""
    sizes = {name: len(getattr(dataset, f"x_{split}")) for split, name in (("train", "training"), ("val", "validation"), ("test", "test"))}
    empty = [name for name, n in sizes.items() if n == 0]
    if empty:
        counts = ", ".join(f"{n} {name}" for name, n in sizes.items())
        raise RunError(f"the data leaves no {empty[0]} sample ({counts}): raise --subset or --test-subset")
    if "model" in exp.common and config.get("model") is not None:
        from cnncalc.spec import SpecError

        from ..models import describe

        try:
            describe(config["model"], dataset.input_shape, dataset.num_classes)
        except SpecError as exc:
            shape = "x".join(map(str, dataset.input_shape))
            raise RunError(f"--model {config['model']} does not fit {shape} images: {str(exc).splitlines()[0]}") from None
    if exp.validate_data is not None:
        exp.validate_data(config, dataset)


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def read_run(option: Option, path: str) -> dict:
    """The settings a chaining ``option`` takes from the finished run at ``path`` (our config keys).

    One-line :class:`RunError` when ``path`` is no run, a run of another experiment, an unfinished
    run, or one that suggested no value (``null`` in its ``results.json``, with its note).
    """
    source = RunDir(path)
    made_by = source.config().get("experiment")
    if made_by != option.reads.source:
        raise RunError(f"{option.flag}: '{path}' is a {made_by} run, not a {option.reads.source} run")
    if not source.exists("results.json"):
        state = source.status().get("state", "created")
        raise RunError(f"{option.flag}: '{path}' has no results yet ({state}); finish it with 'cnntrain resume {path}'")
    results = source.read_json("results.json")
    taken = {}
    for key, dest in option.reads.keys.items():
        if results.get(key) is None:
            note = results.get("note")
            raise RunError(f"{option.flag}: '{path}' suggested no {key} (null{': ' + note if note else ''})")
        taken[dest] = results[key]
    return taken


def execute(exp: Experiment, ctx: Context) -> dict:
    """Run ``exp`` in ``ctx``'s run directory; the status always says how it ended.

    ``running``, then ``results.json``, then ``finished`` last: a run stopped anywhere before that
    (the final evaluation included) is resumed to completion. On a stop the details the loop
    wrote (``completed_epochs``, ``last_good_epoch``) are kept. ``cnntrain`` runs every
    experiment this way, and :meth:`Context.stage` every stage of a chain.
    """
    ctx.run.set_status("running")
    try:
        try:
            with _working_in(ctx):
                results = exp.run(ctx) or {}
        except Exception as exc:  # a multi-host run whose collective failed because a process is gone
            lost = _peer_loss(exc, ctx)
            if lost is None:
                raise
            raise lost from None
    except KeyboardInterrupt as exc:
        mark_stopped(ctx.run, "interrupted", **({"reason": str(exc)} if str(exc) else {}))
        raise
    except Exception as exc:
        mark_stopped(ctx.run, "failed", reason=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise
    ctx.run.write_json("results.json", results)
    ctx.run.set_status("finished")
    return results


def _multi_host(ctx: Context) -> bool:
    return ctx.config.get("distribute") == "multi-host"


def _working_in(ctx: Context):
    """Registers the run with the multi-host watchdog (which marks it interrupted should it have
    to stop a process stuck in a collective); nothing in a single-process run."""
    if not _multi_host(ctx):
        return contextlib.nullcontext()
    from ..multihost import working_in

    return working_in(ctx.run)


def _peer_loss(exc: BaseException, ctx: Context):
    """:class:`training.multihost.PeerLost` when ``exc`` came from a lost process of a multi-host run, else None."""
    if not _multi_host(ctx):
        return None
    from ..multihost import peer_loss

    return peer_loss(exc)


def mark_stopped(run: RunDir, state: str, **details) -> None:
    """Mark ``run`` stopped, unless the loop already did (its status has the epoch details).

    Never hides the exception being raised: a status that cannot be written (a full disk with
    no room even for an in-place rewrite) is named on stderr and left.
    """
    try:
        if run.status().get("state") != state:
            run.set_status(state, **details)
    except Exception as exc:  # noqa: BLE001 - the original error is the one to report
        print(f"warning: could not mark '{run.path}' {state}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)


def default_out(name: str) -> str:
    return os.path.join("runs", name, time.strftime("%Y-%m-%d_%H%M%S"))


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# The settings that decide what Context.dataset() loads.
DATA_KEYS = ("dataset", "data_dir", "val_fraction", "normalization", "subset", "test_subset", "seed", "model")


@dataclass
class Context:
    """What a recipe gets: its config, its run directory, data loading and training helpers."""

    config: dict
    run: RunDir
    resume: bool = False
    verbose: int = 1
    log: Callable[[str], None] = _stderr
    _data: object = field(default=None, repr=False)

    def __getitem__(self, key):
        return self.config[key]

    def get(self, key, default=None):
        value = self.config.get(key)
        return default if value is None else value

    @property
    def path(self) -> str:
        return self.run.path

    def file(self, name: str) -> str:
        return self.run.file(name)

    # data ------------------------------------------------------------------------------------
    def dataset(self):
        """The configured dataset (loaded once): subset, validation split, normalisation, padding."""
        if self._data is None:
            from ..data import VAL_FRACTION, load

            model = self.get("model", "")
            pad_to = 32 if self["dataset"] == "fashion_mnist" and model in ("lenet5", "minigooglenet") else None
            self._data = load(
                self["dataset"],
                self.get("data_dir"),
                val_fraction=self.get("val_fraction", VAL_FRACTION),
                normalization=self.get("normalization", "standardize"),
                pad_to=pad_to,
                subset=self.get("subset"),
                test_subset=self.get("test_subset"),
                seed=self.get("seed", 0),
            )
        return self._data

    # models ----------------------------------------------------------------------------------
    def build_model(self, optimizer, *, model: str | None = None, **options):
        """A compiled Keras model of the configured zoo entry for the dataset's shape."""
        from ..models import build, compile_model

        data = self.dataset()
        keras_model = build(model or self["model"], data.input_shape, data.num_classes, **options)
        return compile_model(keras_model, optimizer() if callable(optimizer) else optimizer)

    # training --------------------------------------------------------------------------------
    def subrun(self, name: str, extra: dict | None = None) -> RunDir:
        """A run directory inside this one (one per candidate of a sweep)."""
        sub = self.run.child(name)
        if not sub.exists("config.json"):
            sub.create({**self.config, **(extra or {}), "subrun": name})
        return sub

    def fit(self, run: RunDir, build_model: Callable, *, epochs=None, batch_size=None, batch_sizes=None,
            expand_batch=None, callbacks=(), target_accuracy=None, custom_objects=None) -> dict:
        """Train one model in ``run`` (resuming it when it has a checkpoint); returns its metrics."""
        if run.status().get("state") == "finished" and run.has_metrics():
            return run.metrics()
        data = self.dataset()
        plan = TrainingPlan(
            build_model=build_model,
            x_train=data.x_train, y_train=data.y_train,
            x_val=data.x_val, y_val=data.y_val,
            x_test=data.x_test, y_test=data.y_test,
            epochs=int(epochs or self["epochs"]),
            batch_size=int(batch_size or self.get("batch_size", 128)),
            seed=int(self.get("seed", 0)),
            batch_sizes=batch_sizes,
            expand_batch=expand_batch,
            callbacks=list(callbacks),
            target_accuracy=target_accuracy if target_accuracy is not None else self.get("target_acc"),
            custom_objects=custom_objects or {},
            distribute=self.get("distribute"),
            convergence=self.convergence(),
            verbose=self.verbose,
            log=self.log,
        )  # fmt: skip
        return train(run, plan, resume=run.latest_checkpoint() is not None)

    def convergence(self) -> Convergence | None:
        """The run's stopping rule when it trains ``--until-convergence``, else None."""
        if not self.get("until_convergence", False):
            return None
        return Convergence(int(self.get("patience", 5)), float(self.get("min_delta", 0.0)))

    def stage(self, name: str, experiment: str, overrides: dict) -> tuple[RunDir, dict]:
        """Run the recipe ``experiment`` once as the stage ``name`` (a sub-run) of a chain; its results.

        The stage's config is resolved like a command line's (``--preset`` this run's preset,
        ``overrides`` its options, chaining options such as ``bounds_from`` read from the earlier
        stage's directory) the first time only; afterwards its stored ``config.json`` is the
        truth, so ``cnntrain resume`` skips a finished stage and continues an interrupted one from
        its checkpoint. A stage whose data settings equal this run's shares its loaded dataset.
        """
        exp = load_recipes()[experiment]
        sub = self.run.child(name)
        if sub.status().get("state") == "finished" and sub.exists("results.json"):
            return sub, sub.read_json("results.json")
        if sub.exists("config.json"):
            config = sub.config()
        else:
            config = {**resolve_config(exp, self.config.get("preset", "quick"), overrides), "stage": name}
            sub.create(config)
        self.log(f"stage {name}: {experiment}")
        data = self._data if self._data is not None and all(config.get(k) == self.config.get(k) for k in DATA_KEYS) else None
        return sub, execute(exp, Context(config, sub, resume=True, verbose=self.verbose, log=self.log, _data=data))

    def sweep(self, names: list[str]):
        """Iterate over a sweep's candidates, logging ``run i/n: name``."""
        for i, name in enumerate(names, start=1):
            self.log(f"run {i}/{len(names)}: {name}")
            yield name

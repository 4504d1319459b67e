"""The experiment registry's option handling: switches, validation before any directory exists."""

import pytest

from training.experiments import Experiment, Option, resolve_config
from training.runs import RunError

PRESETS = {"quick": {"dataset": "fashion_mnist", "epochs": 1, "grid": False}, "paper": {"dataset": "fashion_mnist", "epochs": 9, "grid": False}}


def _needs_small_epochs(config):
    if config["epochs"] > 5 and config.get("grid"):
        raise RunError("--grid runs at most 5 epochs")


EXP = Experiment("demo", "demo", PRESETS, run=lambda ctx: {}, options=(Option("--grid", "grid form", flag_only=True),), validate=_needs_small_epochs)


def test_switch_option_is_store_true_and_absent_means_preset():
    kwargs = EXP.options[0].argparse_kwargs()
    assert kwargs["action"] == "store_true" and kwargs["default"] is None and "type" not in kwargs
    assert resolve_config(EXP, "quick", {"grid": None})["grid"] is False
    assert resolve_config(EXP, "quick", {"grid": True})["grid"] is True


def test_validate_hook_and_common_checks_raise_run_error():
    with pytest.raises(RunError, match="at most 5 epochs"):
        resolve_config(EXP, "paper", {"grid": True})
    assert resolve_config(EXP, "paper", {})["epochs"] == 9
    for key, flag in (("epochs", "--epochs"), ("subset", "--subset"), ("test_subset", "--test-subset")):
        with pytest.raises(RunError, match=f"{flag} must be positive"):
            resolve_config(EXP, "quick", {key: 0})
    with pytest.raises(RunError, match="unknown preset 'fast'"):
        resolve_config(EXP, "fast", {})
    with pytest.raises(RunError, match="not 'mnist'"):
        resolve_config(EXP, "quick", {"dataset": "mnist"})


def test_load_recipes_finds_all_even_after_one_was_imported_alone():
    import importlib
    import subprocess
    import sys

    code = (
        "import training.experiments.clr\n"
        "from training.experiments import EXPERIMENTS, load_recipes\n"
        "assert list(EXPERIMENTS) == ['clr'], list(EXPERIMENTS)\n"
        "print(sorted(load_recipes()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    names = eval(out)
    assert {"clr", "lr-range", "batch-range", "cyclical-batch", "cutout-demo", "batch-augment"} <= set(names)
    assert importlib.import_module("training.experiments").load_recipes() is importlib.import_module("training.experiments").EXPERIMENTS

"""``cnntrain numpy-net``: the from-scratch NumPy two-layer network on real data, through the same
data loaders and run directory as the Keras experiments."""

from __future__ import annotations

import os
import sys

from cnncalc.atomic import write_json


def add_parser(subparsers):
    p = subparsers.add_parser("numpy-net", help="train the from-scratch NumPy two-layer network (CS231n)")
    p.add_argument("--dataset", choices=("fashion_mnist", "cifar10"), default="cifar10")
    p.add_argument("--preset", choices=("quick", "paper"), default="quick")
    p.add_argument("--data-dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subset", type=int, help="use this many training images")
    p.add_argument("--hidden-size", type=int)
    p.add_argument("--lr", type=float, dest="learning_rate")
    p.add_argument("--reg", type=float)
    p.add_argument("--num-iters", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--out", help="run directory (default runs/numpy-net/DATE_TIME)")
    return p


def _overrides(args) -> dict:
    keys = ("hidden_size", "learning_rate", "reg", "num_iters", "batch_size")
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}


def _train(config: dict, out: str) -> dict:
    from .data import load
    from .numpy_net.run import run_numpy_net
    from .runs import RunDir

    dataset = load(config["dataset"], config.get("data_dir"), normalization="none", subset=config.get("subset"), seed=config["seed"])
    data = {k: getattr(dataset, k) for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}
    run = RunDir(out)
    run.set_status("running")
    metrics = run_numpy_net(data, preset=config["preset"], out_dir=out, seed=config["seed"], **config.get("overrides", {}))
    run.set_status("finished")
    return metrics


def run(args) -> int:
    from .experiments import default_out
    from .runs import RunDir

    out = args.out or default_out("numpy-net")
    config = {"experiment": "numpy-net", "dataset": args.dataset, "preset": args.preset, "data_dir": args.data_dir,
              "seed": args.seed, "subset": args.subset, "overrides": _overrides(args)}
    RunDir(out).create(config)
    print(f"run directory: {out}", file=sys.stderr)
    metrics = _train(config, out)
    print(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items() if "accuracy" in k), file=sys.stderr)
    return 0


def resume(run_dir, config: dict) -> int:
    """The NumPy net trains in seconds to minutes: resuming retrains it from the stored config."""
    _train(config, run_dir.path)
    return 0

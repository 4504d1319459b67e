"""The package docstring of ``training`` lists every module of every wing, so it cannot go stale."""

import pkgutil
import re

import training
import training.experiments
import training.numpy_net
import training.runs


def _modules(package) -> set[str]:
    return {info.name for info in pkgutil.iter_modules(package.__path__) if not info.name.startswith("_")}


def test_package_docstring_names_every_module_of_every_wing():
    named = set(re.findall(r"``(\w+)``", training.__doc__)) | set(re.findall(r"``(\w+)/``", training.__doc__))
    for package in (training, training.runs, training.experiments, training.numpy_net):
        missing = _modules(package) - named
        assert not missing, f"{package.__name__}: {sorted(missing)} not in training/__init__.py's docstring"

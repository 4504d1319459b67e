"""Shared pytest configuration.

``--update-golden`` rewrites the golden files of ``tests/golden/`` from the current output
(torchinfo's approach); review the diff before committing.
"""

import gc
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/*.out from current output")
    parser.addoption("--cpu-durations", type=int, default=None, metavar="N",
                     help="report the CPU seconds (rusage, children included) of every test and list the N costliest (tests/cpu_durations.py)")
    parser.addoption("--cpu-durations-json", default=None, metavar="FILE", help="with --cpu-durations: also write every test's CPU and wall seconds to FILE")


def pytest_configure(config):
    """``--cpu-durations`` registers the plugin of tests/cpu_durations.py (opt-in: no cost otherwise)."""
    count = config.getoption("--cpu-durations")
    if count is None and config.getoption("--cpu-durations-json") is None:
        return
    import importlib.util

    spec = importlib.util.spec_from_file_location("cpu_durations", os.path.join(os.path.dirname(__file__), "cpu_durations.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config.pluginmanager.register(module.CpuDurations(30 if count is None else count, config.getoption("--cpu-durations-json")), "cpu-durations")


@pytest.fixture(scope="module", autouse=True)
def frozen_heap():
    """Before each module: collect the garbage, then freeze what is left (``gc.freeze``).

    One process runs the whole suite, and what it imports stays: TensorFlow, Keras, torch, JAX and
    sympy make about 590,000 objects the garbage collector would scan again in every full
    collection. A test that allocates many objects (a 400-layer graph read, a benchmark's smoke
    run) then spent most of its time in the collector: the scale benchmark's smoke run 1.8 s of
    CPU with those modules loaded, 0.15 s with them frozen. Frozen objects are still freed when
    the process ends; what a test creates is collected as before. No result changes."""
    gc.collect()
    gc.freeze()
    yield


@pytest.fixture
def update_golden(request):
    return request.config.getoption("--update-golden")


def pytest_collection_modifyitems(config, items):
    """Keras tests skip with a clear reason when TensorFlow/Keras are absent (never in CI);
    ``real_fashion_mnist`` tests skip when Debian's dataset-fashion-mnist is not installed."""
    from training.data import FASHION_MNIST_SYSTEM_DIR

    if not FASHION_MNIST_SYSTEM_DIR.is_dir():
        no_data = pytest.mark.skip(
            reason="needs the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist; CI installs it)"
        )
        for item in items:
            if "real_fashion_mnist" in item.keywords:
                item.add_marker(no_data)
    # find_spec, not import: importing Keras loads TensorFlow (about 4 s of CPU), which a run of
    # tests that never use it should not pay at collection.
    import importlib.util

    if importlib.util.find_spec("keras") is None or importlib.util.find_spec("tensorflow") is None:
        if os.environ.get("CI"):
            raise pytest.UsageError("CI must run the Keras tests, but keras is not installed") from None
        skip = pytest.mark.skip(reason="needs TensorFlow/Keras: pip install -e '.[dev]'")
        for item in items:
            if "keras" in item.keywords:
                item.add_marker(skip)
    if os.environ.get("CI"):
        _ci_runs_every_optional_test()


def _ci_runs_every_optional_test():
    """In CI the tests that skip elsewhere must run: .ci/run installs what they need."""
    import importlib.util

    from cnncalc.html.chromium import find
    from training.data import FASHION_MNIST_SYSTEM_DIR

    missing = [name for name in ("torch", "onnx", "h5py", "matplotlib", "jax") if importlib.util.find_spec(name) is None]
    if find() is None:
        missing.append("chromium")
    if not FASHION_MNIST_SYSTEM_DIR.is_dir():
        missing.append("dataset-fashion-mnist")
    if missing:
        raise pytest.UsageError(f"CI must run every test, but {', '.join(missing)} is not installed (see .ci/run)")


@pytest.fixture(scope="session")
def xla_cache(tmp_path_factory):
    """JAX's persistent compilation cache for every test that starts processes training with JAX
    (``JAX_COMPILATION_CACHE_DIR``): they compile the same programs (the same model's initialisers
    and steps), and a program compiled once is read back by the others. No result changes."""
    return tmp_path_factory.mktemp("xla-cache")

"""A run directory is a closed room (issue 27): every file cnntrain writes, locks, embeds or deletes
is reached without following a link and must be a regular file or a real directory of the run.

Each probe case is caused for real: symbolic links to files and folders outside the run, dangling
links, links to ``/dev/zero`` and ``/etc/passwd``, links to the run itself, FIFOs, hard links, a
folder swapped for a link by a concurrent process. No training: the run directories are written
by hand (``RunDir``), so the module takes seconds. ``cnntrain`` runs as a child process under a
1.5 GiB address-space limit and a timeout; it must end in exit 0 or 2 (then with one ``error:``
line) and leave everything outside the run's tree as it was, unread by the page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import time

import pytest

from cnncalc import atomic, confined
from training.runs.report import COLUMNS, MAX_IMAGE_BYTES, find_runs, markdown_text, printable
from training.runs.rundir import MAX_TABLE_BYTES, RunDir, RunError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), "TF_CPP_MIN_LOG_LEVEL": "3"}
MEMORY_LIMIT = 3 << 29  # 1.5 GiB of address space for each cnntrain child
# A 1x1 PNG, what an experiment's plot looks like to the report.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
SECRET = "SECRET-7f3a9c"  # in every file outside the run: it must never reach a page, a table or the terminal

pytestmark = pytest.mark.skipif(not confined.AT_FDS, reason="POSIX: symbolic links, FIFOs and openat")


def _limit_memory():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def cnntrain(*args, cwd=None, timeout=60) -> subprocess.CompletedProcess:
    """``cnntrain ARGS`` in a child process, bounded in memory and time; it must end in exit 0,
    or in exit 2 with exactly one ``error:`` line, never a traceback or an internal error."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "training.cli", *map(str, args)], capture_output=True, text=True, env=ENV,
                          cwd=cwd, timeout=timeout, preexec_fn=_limit_memory)  # fmt: skip
    proc.seconds = time.monotonic() - started
    assert proc.returncode in (0, 2), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    if proc.returncode == 2:
        assert proc.stderr.strip().splitlines() == errors and len(errors) == 1, proc.stderr
    else:
        assert errors == [], proc.stderr
    return proc


def make_run(path, *, state="finished", experiment="clr", **config) -> RunDir:
    """A run as cnntrain leaves it (config, status, two epochs of history, metrics, a plot)."""
    run = RunDir(path)
    run.create({"experiment": experiment, "model": "lenet5", "dataset": "fashion_mnist", "seed": 0, **config})
    run.write_history([{"epoch": e, "loss": 1.0 / e, "val_loss": 1.1 / e, "val_accuracy": 0.5 + 0.1 * e, "wall_seconds": 1.5 * e} for e in (1, 2)])
    run.write_metrics({"best_val_accuracy": 0.7})
    (path / "curves.png").write_bytes(PNG)
    if state == "finished":
        run.write_json("results.json", {"test_accuracy": 0.7})
    run.set_status(state)
    return run


@pytest.fixture
def outside(tmp_path):
    """A folder outside the run holding what a hostile run directory links to."""
    return make_outside(tmp_path)


def make_outside(parent):
    folder = parent / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(f"{SECRET}\nline two\n")
    (folder / "secret.json").write_text(json.dumps({"experiment": "clr", "token": SECRET}))
    (folder / "secret.png").write_bytes(PNG + SECRET.encode())  # a valid PNG: embedded if it were followed
    (folder / "epoch-precious").mkdir()
    (folder / "epoch-precious" / "state.json").write_text(json.dumps({"epoch": 1, "note": SECRET}))
    return folder


def snapshot(folder) -> dict:
    """Every entry below ``folder`` (links not followed) with its kind and content digest."""
    found = {}
    for base, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(base, name)
            st = os.lstat(path)
            digest = hashlib.sha256(open(path, "rb").read()).hexdigest() if os.path.isfile(path) and not os.path.islink(path) else None
            found[os.path.relpath(path, folder)] = (confined.kind_of(st.st_mode), digest, st.st_mtime_ns)
    return found


# -- the lock (issue 27, security item 2) ----------------------------------------------------------


@pytest.mark.parametrize("state", ["finished", "interrupted"])
def test_a_lock_linked_to_a_file_outside_is_refused_never_truncated(tmp_path, outside, state):
    run = make_run(tmp_path / "run", state=state)
    os.symlink(outside / "secret.txt", tmp_path / "run" / ".lock")
    before = snapshot(outside)
    proc = cnntrain("resume", run.path)
    assert proc.returncode == 2 and f"'{run.path}/.lock' is a symbolic link" in proc.stderr
    assert snapshot(outside) == before


def test_a_dangling_lock_link_creates_nothing(tmp_path, outside):
    run = make_run(tmp_path / "run", state="interrupted")
    os.symlink(outside / "made-by-the-lock", tmp_path / "run" / ".lock")
    proc = cnntrain("resume", run.path)
    assert proc.returncode == 2 and "symbolic link" in proc.stderr
    assert not os.path.lexists(outside / "made-by-the-lock")


def test_a_lock_hard_linked_to_a_file_outside_is_not_written(tmp_path, outside):
    run = make_run(tmp_path / "run", state="interrupted")
    os.link(outside / "secret.txt", tmp_path / "run" / ".lock")
    before = snapshot(outside)
    proc = cnntrain("resume", run.path)
    assert proc.returncode == 2 and "has 2 hard links" in proc.stderr
    assert snapshot(outside) == before


def test_a_lock_that_is_a_fifo_is_refused_at_once(tmp_path):
    run = make_run(tmp_path / "run", state="interrupted")
    os.mkfifo(tmp_path / "run" / ".lock")
    proc = cnntrain("resume", run.path, timeout=30)
    assert proc.returncode == 2 and "'.lock' is a FIFO, not a regular file" in proc.stderr.replace(f"{run.path}/", "")


def test_native_log_linked_elsewhere_is_refused_never_appended(tmp_path, outside):
    from cnncalc.native_stderr import redirected

    os.symlink(outside / "secret.txt", tmp_path / "native.log")
    before = snapshot(outside)
    with pytest.raises(confined.Refused, match="native.log' is a symbolic link"):
        with redirected(tmp_path / "native.log"):
            pass
    assert snapshot(outside) == before


# -- the page (security item 3) ----------------------------------------------------------------------


def test_the_page_embeds_only_the_runs_own_png_files(tmp_path, outside):
    run = make_run(tmp_path / "run")
    links = {"passwd.png": "/etc/passwd", "zero.png": "/dev/zero", "elsewhere.png": outside / "secret.png", "dangling.png": outside / "none.png"}
    for name, target in links.items():
        os.symlink(target, tmp_path / "run" / name)
    os.mkfifo(tmp_path / "run" / "fifo.png")
    (tmp_path / "run" / "text.png").write_text(SECRET)  # a regular file that is no PNG
    with open(tmp_path / "run" / "huge.png", "wb") as fh:  # a sparse PNG over the cap (never read)
        fh.write(PNG)
        fh.truncate(MAX_IMAGE_BYTES + 1)
    (tmp_path / "run" / "folder.png").mkdir()
    page = tmp_path / "page.html"
    proc = cnntrain("report", run.path, "--html", page, timeout=30)
    assert proc.returncode == 0 and proc.seconds < 20
    html = page.read_text()
    data = json.loads(html.split('id="cnncalc-data">', 1)[1].split("</script>", 1)[0])
    assert [image["name"] for image in data["runs"][0]["images"]] == ["curves.png"]
    assert SECRET not in html and base64.b64encode(SECRET.encode()).decode()[:12] not in html and "root:x:0" not in html
    for name in links:
        assert f"not embedding '{run.path}/{name}': a symbolic link (never followed)" in proc.stderr
    for name, why in (("fifo.png", "a FIFO"), ("text.png", "not a PNG file"), ("huge.png", f"{MAX_IMAGE_BYTES + 1:,} bytes"), ("folder.png", "a directory")):
        assert f"not embedding '{run.path}/{name}': {why}" in proc.stderr
    assert f"wrote {page} (" in proc.stderr


# A hostile state file per case (the file, how it is made, what the report says of it).
HOSTILE_STATE = {
    "config-link": ("config.json", lambda p, o: os.symlink(o / "secret.json", p), "config.json' is a symbolic link"),
    "config-fifo": ("config.json", lambda p, o: os.mkfifo(p), "config.json' is a FIFO, not a regular file"),
    "history-dev-zero": ("history.csv", lambda p, o: os.symlink("/dev/zero", p), "history.csv' is a symbolic link"),
    "history-fifo": ("history.csv", lambda p, o: os.mkfifo(p), "history.csv' is a FIFO, not a regular file"),
    "metrics-link": ("metrics.json", lambda p, o: os.symlink(o / "secret.json", p), "metrics.json' is a symbolic link"),
    "status-dev-zero": ("status.json", lambda p, o: os.symlink("/dev/zero", p), "status.json' is a symbolic link"),
    "history-over-the-cap": ("history.csv", lambda p, o: open(p, "wb").truncate(MAX_TABLE_BYTES + 1), f"history.csv' holds {MAX_TABLE_BYTES + 1:,} bytes, more than the {MAX_TABLE_BYTES:,}"),
}  # fmt: skip


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    """One good run beside a run per :data:`HOSTILE_STATE` case, and one ``cnntrain report --html``
    of them all (a child process per case cost about 0.4 s of CPU each)."""
    root = tmp_path_factory.mktemp("hostile-state")
    outside = make_outside(root)
    make_run(root / "runs" / "good")
    for case, (name, make, _) in HOSTILE_STATE.items():
        bad = make_run(root / "runs" / case)
        os.unlink(os.path.join(bad.path, name))
        make(os.path.join(bad.path, name), outside)
    page = root / "page.html"
    proc = cnntrain("report", root / "runs", "--html", page, timeout=30)
    return root / "runs", proc, page.read_text()


@pytest.mark.parametrize("case", HOSTILE_STATE)
def test_a_hostile_state_file_is_listed_unreadable_never_followed(hostile_report, case):
    runs, proc, page = hostile_report
    assert proc.returncode == 0 and proc.seconds < 20
    assert "| runs/good " in proc.stdout
    listed = [line for line in proc.stdout.splitlines() if line.startswith(f"- `{runs / case}`: ")]
    assert len(listed) == 1 and HOSTILE_STATE[case][2] in listed[0], proc.stdout
    assert SECRET not in proc.stdout + proc.stderr + page


# -- checkpoints (security item 4) -------------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    keras = pytest.importorskip("keras", reason="needs TensorFlow/Keras: pip install -e '.[dev]'")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def checkpoint_state(epoch):
    return {"epoch": epoch, "step": 3 * epoch, "wall_seconds": 1.0 * epoch, "seed_states": []}


@pytest.mark.keras
def test_a_checkpoint_folder_linked_out_of_the_run_is_refused_and_nothing_deleted(tmp_path, outside, model):
    run = make_run(tmp_path / "run", state="interrupted")
    os.symlink(outside, tmp_path / "run" / "checkpoint")
    before = snapshot(outside)
    with pytest.raises(confined.Refused, match="checkpoint' is a symbolic link: links inside '.*run' are never followed"):
        run.save_checkpoint(model, checkpoint_state(2))
    assert snapshot(outside) == before  # epoch-precious is still there, nothing written beside it
    with pytest.raises(RunError, match="checkpoint' is a symbolic link"):
        run.latest_checkpoint()


@pytest.mark.keras
def test_pruning_deletes_only_the_checkpoints_it_wrote(tmp_path, outside, model):
    run = make_run(tmp_path / "run", state="interrupted")
    run.save_checkpoint(model, checkpoint_state(1))
    checkpoints = tmp_path / "run" / "checkpoint"
    os.symlink(outside / "epoch-precious", checkpoints / "epoch-0005")  # a link named like a checkpoint
    (checkpoints / "epoch-0007").mkdir()  # a folder of the user's named like one, without our state.json
    (checkpoints / "epoch-0007" / "notes.txt").write_text("mine")
    (checkpoints / "epoch-0008").mkdir()  # one whose state.json names another epoch
    (checkpoints / "epoch-0008" / "state.json").write_text(json.dumps({"epoch": 3}))
    (checkpoints / "epoch-0009").write_text("a file")
    (checkpoints / "epoch-precious").mkdir()
    before = snapshot(outside)
    run.save_checkpoint(model, checkpoint_state(2))
    assert sorted(os.listdir(checkpoints)) == ["epoch-0002", "epoch-0005", "epoch-0007", "epoch-0008", "epoch-0009", "epoch-precious", "latest.json"]
    assert (checkpoints / "epoch-0007" / "notes.txt").read_text() == "mine" and os.path.islink(checkpoints / "epoch-0005")
    assert snapshot(outside) == before
    assert run.latest_checkpoint()["epoch"] == 2


@pytest.mark.keras
def test_a_leftover_staging_link_is_unlinked_not_followed(tmp_path, outside, model):
    run = make_run(tmp_path / "run", state="interrupted")
    (tmp_path / "run" / "checkpoint").mkdir()
    os.symlink(outside, tmp_path / "run" / "checkpoint" / ".staging-epoch-0001")
    os.symlink(outside / "epoch-precious", tmp_path / "run" / "checkpoint" / "epoch-0001")
    before = snapshot(outside)
    run.save_checkpoint(model, checkpoint_state(1))
    assert snapshot(outside) == before
    assert os.path.isdir(tmp_path / "run" / "checkpoint" / "epoch-0001") and not os.path.islink(tmp_path / "run" / "checkpoint" / "epoch-0001")


@pytest.mark.parametrize("name", ["model.keras", "best.weights.h5"])
def test_a_checkpoint_file_that_is_a_link_is_named_not_loaded(tmp_path, outside, name):
    run = make_run(tmp_path / "run", state="interrupted")
    folder = tmp_path / "run" / "checkpoint" / "epoch-0001"
    folder.mkdir(parents=True)
    if name != "model.keras":
        (folder / "model.keras").write_bytes(b"PK")
    os.symlink(outside / "secret.txt", folder / name)
    run.write_json("checkpoint/latest.json", {"dir": "epoch-0001", **checkpoint_state(1)})
    with pytest.raises(RunError, match=f"epoch-0001/{name}' is a symbolic link, not a regular file"):
        run.latest_checkpoint()


# -- atomic writes -------------------------------------------------------------------------------


def test_an_atomic_write_replaces_a_link_never_writes_through_it(tmp_path, outside):
    os.symlink(outside / "secret.txt", tmp_path / "results.md")
    before = snapshot(outside)
    atomic.write_text(tmp_path / "results.md", "ours\n")
    assert not os.path.islink(tmp_path / "results.md") and (tmp_path / "results.md").read_text() == "ours\n"
    assert snapshot(outside) == before


def test_an_atomic_write_inside_a_run_never_leaves_it_through_a_folder_link(tmp_path, outside):
    run = make_run(tmp_path / "run")
    os.symlink(outside, tmp_path / "run" / "checkpoint")
    before = snapshot(outside)
    with pytest.raises(confined.Refused, match="checkpoint' is a symbolic link"):
        atomic.write_json(tmp_path / "run" / "checkpoint" / "latest.json", {"dir": "epoch-0001"}, inside=run.path)
    with pytest.raises(confined.Refused, match="leaves its directory"):
        atomic.write_text(tmp_path / "elsewhere.txt", "x", inside=run.path)
    assert snapshot(outside) == before and not (tmp_path / "elsewhere.txt").exists()


@pytest.mark.slow
def test_a_folder_swapped_for_a_link_by_another_process_is_never_written_through(tmp_path, outside):
    """A concurrent process keeps exchanging ``checkpoint`` with a link to ``outside`` (Linux'
    ``renameat2(RENAME_EXCHANGE)``: the name is never missing) while this one writes
    ``checkpoint/latest.json``: every write lands in the run or is refused, none outside."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "renameat2"):
        pytest.skip("needs renameat2 (Linux, glibc 2.28)")
    run = make_run(tmp_path / "run")
    (tmp_path / "run" / "checkpoint").mkdir()
    os.symlink(outside, tmp_path / "run" / "link")
    before = snapshot(outside)
    stop = tmp_path / "stop"
    flipper = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import ctypes, os, sys, time
        libc = ctypes.CDLL(None, use_errno=True)
        os.chdir({str(tmp_path / "run")!r})
        end, flips = time.monotonic() + 20, 0
        while not os.path.exists({str(stop)!r}) and time.monotonic() < end:
            if libc.renameat2(-100, b"checkpoint", -100, b"link", 2) != 0:  # AT_FDCWD, RENAME_EXCHANGE
                sys.exit(f"renameat2: errno {{ctypes.get_errno()}}")
            flips += 1
        if os.path.islink("checkpoint"):
            libc.renameat2(-100, b"checkpoint", -100, b"link", 2)
        print(flips)
    """)], stdout=subprocess.PIPE, text=True)  # fmt: skip
    written = refused = 0
    try:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            try:
                atomic.write_json(os.path.join(run.path, "checkpoint", "latest.json"), {"dir": "epoch-0001"}, inside=run.path)
                written += 1
            except confined.Refused:
                refused += 1
            except FileNotFoundError:  # the folder we hold was exchanged away before the rename
                refused += 1
    finally:
        stop.write_text("")
        out, _ = flipper.communicate(timeout=30)
    if flipper.returncode != 0:
        pytest.skip(f"this file system cannot exchange names ({out.strip()})")
    assert refused > 0 and written > 0 and int(out) > 0, (written, refused, out)  # the race went both ways
    assert snapshot(outside) == before
    assert os.listdir(tmp_path / "run" / "checkpoint") == ["latest.json"]


# -- discovery (unbounded item 7) and the runs/* layout (issue 28) ----------------------------------


def test_links_to_the_run_itself_are_not_walked(tmp_path):
    run = make_run(tmp_path / "run")
    for name in ("a", "b", "loop"):
        os.symlink(".", tmp_path / "run" / name)
    proc = cnntrain("report", run.path, timeout=30)
    assert proc.returncode == 0 and proc.seconds < 20
    assert [line.split("|")[1].strip() for line in proc.stdout.splitlines()[2:]] == ["run"]
    assert len(find_runs(run.path)) == 1


def test_a_sub_run_linked_out_of_a_sweep_is_neither_listed_nor_used(tmp_path, outside):
    sweep = make_run(tmp_path / "sweep", experiment="optimizers")
    make_run(tmp_path / "sweep" / "adam")
    make_run(outside / "run", experiment="lr-range")
    os.symlink(outside / "run", tmp_path / "sweep" / "sgd")
    assert [os.path.basename(r.path) for r in find_runs(sweep.path)] == ["sweep", "adam"]
    with pytest.raises(RunError, match="sgd' is a symbolic link"):
        sweep.child("sgd").config()
    with pytest.raises(RunError, match="sgd' is a symbolic link"):
        sweep.child("sgd").exists("config.json")


def test_a_tree_deeper_than_the_cap_is_searched_to_the_cap(tmp_path):
    deep = tmp_path / "runs"
    make_run(deep / "a" / "shallow")
    path = deep
    for _ in range(40):
        path = path / "d"
    make_run(path / "buried")
    notes = []
    runs = find_runs(str(deep), notes.append)
    assert [os.path.basename(r.path) for r in runs] == ["shallow"]
    assert len(notes) == 1 and "deeper than 32 levels" in notes[0]


@pytest.mark.slow
def test_report_of_runs_star_in_the_default_layout(tmp_path):
    """README: ``cnntrain report runs/*`` over ``runs/EXPERIMENT/DATE`` (the default --out), a chain
    with its stages, a sweep with its sub-runs, and what else a shell glob meets."""
    runs = tmp_path / "runs"
    make_run(runs / "clr" / "2026-11-23_101500")
    make_run(runs / "clr" / "2026-11-24_090000", state="interrupted")
    chain = RunDir(runs / "p2")
    chain.create({"experiment": "policies", "model": "lenet5", "dataset": "fashion_mnist"})
    for stage in ("1-lr-range", "2-clr"):
        make_run(runs / "p2" / stage, experiment=stage[2:])
    chain.set_status("finished")
    make_run(runs / "optimizers" / "2026-11-25_120000", experiment="optimizers")
    make_run(runs / "optimizers" / "2026-11-25_120000" / "adam")
    (runs / "notes.txt").write_text("x")
    (runs / "empty").mkdir()
    glob = sorted(str(p.relative_to(tmp_path)) for p in runs.iterdir())
    proc = cnntrain("report", *glob, cwd=tmp_path)
    labels = [line.split("|")[1].strip() for line in proc.stdout.splitlines()[2:]]
    assert labels == ["clr/2026-11-23_101500", "clr/2026-11-24_090000", "optimizers/2026-11-25_120000", "optimizers/2026-11-25_120000/adam",
                      "p2/1-lr-range", "p2/2-clr"]  # fmt: skip
    assert "skipping 'runs/empty': not a run directory and holds none" in proc.stderr
    assert "skipping 'runs/notes.txt': not a run directory" in proc.stderr
    assert "found 6 runs in runs/clr, runs/optimizers, runs/p2" in proc.stderr
    proc = cnntrain("report", *glob, "--html", "report.html", "--out", "report", cwd=tmp_path)
    wrote = [line.split(" (")[0] for line in proc.stderr.splitlines() if line.startswith("wrote ")]
    assert wrote == ["wrote report.html", "wrote report/train_loss.png", "wrote report/val_loss.png", "wrote report/val_accuracy.png", "wrote report/report.md"]
    assert len(json.loads((tmp_path / "report.html").read_text().split('id="cnncalc-data">', 1)[1].split("</script>", 1)[0])["runs"]) == 6
    # a directory holding no run at all, alone: one line naming it
    proc = cnntrain("report", "runs/empty", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr == "error: 'runs/empty' is not a run directory (no config.json) and holds none\n"


# -- what the report quotes (smaller items) ----------------------------------------------------------


def test_the_report_quotes_config_strings_as_text(tmp_path):
    hostile = {"model": "<img src=x onerror=alert(1)>", "dataset": "![t](http://example.invalid/t.png)|x", "experiment": "clr\x1b[2J\u202eevil"}
    run = make_run(tmp_path / "run", **hostile)
    proc = cnntrain("report", run.path, "--out", tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    row = markdown.splitlines()[4]  # "# Runs", "", the header, the rule, the run
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert len(cells) == len(COLUMNS)  # the quoted "|" split no cell
    assert not re.search(r"(?<!\\)[<>\[\]`*_]", row) and "\x1b" not in markdown and "\u202e" not in markdown
    assert cells[2].strip() == "\\<img src=x onerror=alert(1)\\>" == markdown_text(hostile["model"])
    assert cells[3].strip() == "!\\[t\\](http://example.invalid/t.png)\\|x"
    assert "\x1b" not in proc.stdout and "\u202e" not in proc.stdout and "clr\\x1b[2J\\u202eevil" in proc.stdout
    assert printable("a\x1b[31mb\u2066") == "a\\x1b[31mb\\u2066"


# -- configs: no silent coercion, the key named (smaller items) --------------------------------------


@pytest.fixture
def clr_config():
    from training.experiments import load_recipes, resolve_config

    return resolve_config(load_recipes()["clr"], "quick", {})


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("epochs", 13.7, "'epochs' is 13.7, expected an integer"),
        ("epochs", "12", "'epochs' is '12', expected an integer"),
        ("epochs", True, "'epochs' is True, expected an integer"),
        ("mode", "sawtooth", "'mode' is 'sawtooth', expected one of triangular, triangular2, exp_range"),
        ("lr_min", "x", "'lr_min' is 'x', expected a number"),
        ("batch_size", [64], "'batch_size' is [64], expected an integer"),
        ("until_convergence", "yes", "'until_convergence' is 'yes', expected true or false"),
        ("model", 5, "'model' is 5, expected a string"),
    ],
)
def test_a_stored_config_of_the_wrong_type_is_named_never_coerced(tmp_path, clr_config, key, value, message):
    run = RunDir(tmp_path / "run")
    run.create({**clr_config, key: value})
    run.set_status("interrupted")
    proc = cnntrain("resume", run.path)
    assert proc.returncode == 2 and proc.stderr == f"error: '{run.path}/config.json': {message}\n"


def test_every_preset_passes_the_type_checks():
    from training.experiments import check_types, load_recipes

    for exp in load_recipes().values():
        for preset, settings in exp.presets.items():
            check_types(exp, settings)  # raises naming the key


# -- the primitives (cnncalc.confined) -----------------------------------------------------------


def test_the_primitives_never_leave_the_tree(tmp_path, outside):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    os.symlink(outside, root / "out")
    os.symlink(outside / "secret.txt", root / "sub" / "file")
    (root / "sub" / "data").write_bytes(b"x" * 100)
    before = snapshot(outside)
    for rel, message in (("sub/../..", "leaves its directory"), ("/etc", "absolute path"), ("out", "symbolic link"), ("out/epoch-precious", "symbolic link")):
        with pytest.raises(confined.Refused, match=message):
            confined.open_folder(root, rel)
    with confined.open_folder(root, "sub") as sub:
        assert sub.entries() == [("data", "regular file"), ("file", "symbolic link")]
        with pytest.raises(confined.Refused, match="is a symbolic link"):
            sub.read("file", 1000)
        with pytest.raises(confined.Refused, match="holds 100 bytes, more than the 99"):
            sub.read("data", 99)
        assert sub.read("data", 100) == b"x" * 100
        assert sub.remove("file") and not sub.remove("file")
    with confined.open_folder(root) as top:
        assert top.remove("out")  # the link, not the folder it names
    assert snapshot(outside) == before and sorted(os.listdir(root)) == ["sub"]

"""``cnncalc``: the command line, a thin layer over :func:`cnncalc.analyze` and :mod:`cnncalc.report`.

Start-up stays light: this module imports neither sympy, keras nor tensorflow (sympy loads only
for symbolic sizes, keras only for ``--check-keras``). Every format list comes from
:mod:`cnncalc.report`. Bad input prints one ``error: ...`` line and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import itertools
import os
import re
import sys

from . import zoo
from .analysis import analyze
from .arith import to_json
from .conventions import NAMES as CONVENTION_NAMES
from .conventions import get as get_convention
from .kinds.base import closest
from .printable import visible
from .report import (
    COMPARISON_FORMATS,
    CONVENTIONS_TEXT,
    FORMATS,
    PROOF_FORMATS,
    UNITS,
    TableOptions,
    number,
    render_comparison,
    render_explanations,
    render_json,
    render_rows,
    render_table,
    shape_text,
    summary_lines,
)
from .sizes import input_size
from .spec import SpecError

# Loaded where they are needed, not at start-up (``cnncalc vgg19 --table`` reads none of them):
# the importers (.importers.keras, .importers.onnx), the notation parser, compare,
# explain, proofs, the page (.html) and the plot (.plot).

EXIT_OK, EXIT_USAGE, EXIT_INTERNAL = 0, 2, 3  # --check-keras returns keras_check.EXIT_MISMATCH (1)
TEXTLESS_FORMATS = ("csv", "latex")  # a table alone: --explain's worked text has no place there

CONVENTIONS_HELP = CONVENTIONS_TEXT + """
examples:
  cnncalc vgg19 --table
  cnncalc alexnet --table --units human
  cnncalc "INPUT-32x32x3 -> [CONV3-32 -> RELU]*2 -> POOL2 -> FC-512 -> RELU -> FCS" --table
  cnncalc vgg19 --format json
  cnncalc vgg16 --rf
  cnncalc alexnet --table --explain
  cnncalc "CONV3-64 -> CONV3-64 -> POOL2" --input "H x W x 3" --table
  cnncalc vgg19 --convention fvcore
  cnncalc resnet18.onnx --table --rf
  cnncalc prove receptive-field --n 3 --f 5
  cnncalc compare inception-naive inception-reduced
  cnncalc vgg19 --html vgg19.html
  cnncalc resnet50 --plot resnet50.png
  cnncalc compare inception-naive inception-reduced --html inception.html
  cnncalc list
"""


def with_choices(parser: argparse.ArgumentParser, message: str) -> str:
    """argparse's "the following arguments are required: X" with X's choices, as its "invalid
    choice" message gives them: the next step, not only the mistake (``cnncalc prove``,
    ``cnntrain``, ``cnntrain data``)."""
    prefix = "the following arguments are required: "
    if not message.startswith(prefix):
        return message
    choices = {name: action.choices for action in parser._actions if action.choices for name in (action.dest, action.metavar) if name}
    named = [f"{name} (choose from {', '.join(repr(c) for c in choices[name])})" if name in choices else name for name in message[len(prefix):].split(", ")]
    return prefix + ", ".join(named)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one ``error:`` line and exit code 2."""

    def error(self, message):  # noqa: D401 - argparse API
        raise SpecError(with_choices(self, message))


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cnncalc",
        description="Analytical CNN calculator: output shapes, parameters, activations and MACs "
        "per layer and in total, for a zoo model, arrow notation or a notation file.",
        epilog=CONVENTIONS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="zoo name (see 'cnncalc list'), arrow notation in quotes, a file holding notation, a saved Keras model (FILE.keras), keras:NAME (keras.applications) or an ONNX model (FILE.onnx, e.g. from torch.onnx.export)")
    parser.add_argument("--table", action="store_true", help="one row per layer plus a totals row")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("--units", choices=UNITS, default="exact", help="exact counts (3,211,264) or short ones (3.2M)")
    parser.add_argument("--no-bias", action="store_true", help="weights only: drop the biases and params columns (as the VGG table counts)")
    parser.add_argument("--flops", action="store_true", help="also show FLOPs (= 2 x MACs)")
    parser.add_argument("--kind", action="store_true", help="add the layer-kind column")
    parser.add_argument("--all", action="store_true", help="also list layers that add nothing (ReLU, dropout, flatten)")
    parser.add_argument("--input", metavar="SIZE", help="input size, e.g. 32x32x3 (H x W x C), 16x64 (tokens x channels) or 100; of the model's own rank (overrides its size)")
    parser.add_argument("--classes", type=int, metavar="N", help="number of classes (zoo models and FCS; default 10 for notation)")
    parser.add_argument("--bytes", type=int, default=4, metavar="B", help="bytes per activation element for the memory figure (default 4, float32)")
    parser.add_argument("--check-keras", action="store_true", help="build the model in Keras and compare every count (needs TensorFlow)")
    parser.add_argument("--rf", action="store_true", help="add receptive field, jump, start and effective padding columns (implies --table)")
    parser.add_argument("--explain", action="store_true", help="show each row's worked arithmetic (implies --table)")
    parser.add_argument("--convention", choices=CONVENTION_NAMES, help="count operations as another tool does (docs/conventions.md); default: MACs")
    parser.add_argument("--via-keras", action="store_true", help="FILE.keras: load it with Keras instead of reading its config (needs Keras)")
    parser.add_argument("--assume-divisible", action="store_true", help="symbolic sizes: write (n + 2p - k)/s + 1 instead of floor(...)")
    parser.add_argument("--html", metavar="FILE", help="also write one self-contained page: the network drawn, per-layer charts, the table (docs/html.md)")
    parser.add_argument("--plot", metavar="FILE", help="also write per-layer parameters, activations and MACs as bars (.png, .svg or .pdf; needs matplotlib)")
    parser.add_argument("--verbose", action="store_true", help="let native log lines through to stderr (TensorFlow's, for keras:NAME, --via-keras and --check-keras; silenced by default)")
    return parser


def load_spec(model: str, *, input=None, classes=None, via_keras=False):
    """A Spec from a zoo name, ``keras:NAME``, a ``.keras`` or ``.onnx`` file, a notation file or
    arrow notation."""
    key = model.strip().lower().replace("_", "-")
    if key in zoo.names():
        return zoo.get(key, input=input, classes=classes)
    from .importers.keras import PREFIX, application, is_keras_file, read_keras_file
    from .importers.onnx import from_onnx, is_onnx_file

    if model.startswith(PREFIX) or is_keras_file(model) or is_onnx_file(model):
        if is_onnx_file(model):
            spec = from_onnx(model)  # imports the onnx package only here
        elif model.startswith(PREFIX):
            spec = application(model[len(PREFIX):])
        else:
            spec = read_keras_file(model, via_keras=via_keras)
        return spec.with_input(input_size(input)) if input is not None else spec
    from .notation import NotationError, parse

    if os.path.isfile(model):
        spec = _parse_notation_file(model, classes or 10)
    else:
        looks_like_notation = any(ch in model for ch in "->[(") or any(ch.isdigit() for ch in model)
        if not looks_like_notation:
            raise SpecError(_unknown_model(model, key))
        try:
            spec = parse(model, classes=classes or 10)
        except NotationError as exc:
            # one word that is no layer but near a zoo name ('vgg20', 'resnet-50') meant a model
            if "->" not in model and str(exc).startswith("unknown layer") and closest(key, zoo.names()):
                raise SpecError(_unknown_model(model, key)) from None
            raise
    if input is not None:
        spec = spec.with_input(input_size(input))
    return spec


def _unknown_model(model: str, key: str) -> str:
    near = closest(key, zoo.names())
    hint = f"did you mean {' or '.join(near)}? " if near else ""
    return f"unknown model '{model}' ({hint}see 'cnncalc list', or give arrow notation such as 'INPUT-32x32x3 -> CONV3-32 -> FCS')"


def _parse_notation_file(path: str, classes: int):
    """Parse a notation file (``#`` comments, any number of lines, an optional UTF-8 BOM); an
    error's column becomes ``line L, column C`` of the file."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            lines = [line.split("#", 1)[0].rstrip("\r\n") for line in fh]
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read notation file '{path}': {exc}") from None
    from .notation import parse

    try:
        return parse(" ".join(lines), classes=classes, model=os.path.splitext(os.path.basename(path))[0])
    except SpecError as exc:
        starts = list(itertools.accumulate((len(line) + 1 for line in lines[:-1]), initial=0))

        def where(match):
            offset = int(match.group(1)) - 1
            row = max((i for i, start in enumerate(starts) if start <= offset), default=0)
            return f"line {row + 1}, column {offset - starts[row] + 1}"

        raise type(exc)(f"{path}: " + re.sub(r"column (\d+)", where, str(exc))) from None


def _declares_input(model: str) -> bool:
    """True when notation (given or in a file) starts with its own ``INPUT-...`` layer."""
    text = model
    if os.path.isfile(model) and not _keras_file(model):
        try:
            with open(model, encoding="utf-8-sig") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError):
            return False
    return re.match(r"\s*(\[\s*)*INPUT\s*-", text, re.IGNORECASE) is not None


def _list(out) -> int:
    rows = [[e.name, e.summary] for e in zoo.entries()]
    print(render_rows(["model", "description"], rows, "text"), file=out)
    return EXIT_OK


def _analyse(args, out, err) -> int:
    if args.via_keras and not _keras_file(args.model):
        raise SpecError("--via-keras applies to a saved model (FILE.keras)")
    if args.explain and args.format in TEXTLESS_FORMATS:
        raise SpecError(f"--explain writes worked text, which --format {args.format} cannot hold: use --format json (its 'explain' key) or text/markdown")
    given_input = input_size(args.input) if args.input is not None else None  # --input "" is an error, not ignored
    # said once the model is read with it: an error after it stays the one line on stderr
    replaced = given_input is not None and _declares_input(args.model)
    notice = [f"--input {args.input} replaces the INPUT layer the notation declares"] if replaced else []
    if args.check_keras and (args.html or args.plot):
        raise SpecError("--html and --plot draw the analysis: run them without --check-keras")
    if args.check_keras:
        from .importers.keras import PREFIX, from_keras, is_keras_file, keras_model, read_keras_file

        imported = args.model.startswith(PREFIX) or is_keras_file(args.model)
        if imported and args.input is not None:
            raise SpecError("--check-keras checks an imported model at its own input size: drop --input")
        if args.via_keras:
            raise SpecError("--check-keras compares the file's own reading with Keras' loading of it: drop --via-keras")
        # a .keras file: its reading without Keras (what `cnncalc FILE.keras` prints) is what is checked
        spec = read_keras_file(args.model) if is_keras_file(args.model) else None if imported else load_spec(args.model, input=given_input, classes=args.classes)
        analysis = analyze(spec) if spec is not None else None
        if analysis is not None and analysis.symbolic:  # refused before TensorFlow takes seconds to load
            raise SpecError(f"model '{analysis.model}': the Keras check needs numeric sizes, not {shape_text(analysis.input)}")
        for warning in notice:
            print(f"warning: {visible(warning)}", file=err)
        try:
            from .keras_check import run_check  # imports keras only here
        except ModuleNotFoundError as exc:
            raise SpecError(f"--check-keras needs TensorFlow/Keras ({exc.name} is not installed): pip install 'cnncalc[keras]'") from None
        if imported:
            model = keras_model(args.model)
            return run_check(spec if spec is not None else from_keras(model), fmt=args.format, out=out, model=model)
        return run_check(spec, fmt=args.format, out=out)
    spec = load_spec(args.model, input=given_input, classes=args.classes, via_keras=args.via_keras)
    if args.plot:
        _plot_extension(args.plot)
    analysis = analyze(spec, assume_divisible=args.assume_divisible)
    for warning in (*notice, *analysis.warnings):
        print(f"warning: {visible(warning)}", file=err)
    if args.html:
        from .html import network_page  # the page's template only here

        _write(args.html, network_page(analysis, units=args.units, dtype_bytes=args.bytes), err)
    if args.plot:
        from .plot import plot_layers  # matplotlib only here

        _written(plot_layers(analysis, args.plot), err)
    extra = _convention_lines(analysis, args.convention, args.units)
    if args.format == "json":
        data = None
        if args.convention:
            convention = get_convention(args.convention)
            data = {"convention": {"name": convention.name, "unit": convention.unit, "total": _json(convention.total(analysis)), "per_layer": {s.name: _json(convention.count(s)) for s in analysis.layers}}}
        if args.explain:
            from .explain import explain

            data = {**(data or {}), "explain": {e.name: e.to_dict() for e in explain(analysis)}}
        print(render_json(analysis, data), file=out)
        return EXIT_OK
    options = TableOptions(units=args.units, bias=not args.no_bias, flops=args.flops, kind=args.kind, all_rows=args.all, rf=args.rf, convention=args.convention)
    if args.table or args.rf or args.explain or args.format != "text":  # json returned above: every other format is a table
        if args.format == "text":
            print("\n".join(summary_lines(analysis, args.units, args.bytes, args.flops)[:2]), file=out)
            print(file=out)
        print(render_table(analysis, args.format, options), file=out)
        if args.format == "text":
            print(file=out)
            print("\n".join(summary_lines(analysis, args.units, args.bytes, args.flops)[2:] + extra), file=out)
        if args.explain:
            from .explain import explain

            print(file=out)
            print(render_explanations(explain(analysis), units=args.units, bias=not args.no_bias), file=out)
        return EXIT_OK
    print("\n".join(summary_lines(analysis, args.units, args.bytes, args.flops) + extra), file=out)
    return EXIT_OK


def _keras_file(model: str) -> bool:
    from .importers.keras import is_keras_file

    return is_keras_file(model)


def _plot_extension(path):
    from .plot import plot_extension  # matplotlib is imported only when drawing

    try:
        return plot_extension(path)
    except ValueError as exc:
        raise SpecError(str(exc)) from None


def _write(path, text, err):
    parent = os.path.dirname(path)
    if parent and os.path.exists(parent) and not os.path.isdir(parent):
        raise SpecError(f"cannot write '{path}': '{parent}' is not a directory")
    from .atomic import write_text

    try:
        write_text(path, text)
    except OSError as exc:
        raise SpecError(f"cannot write '{path}': {exc.strerror or exc}") from None
    _written(path, err)


def _written(path, err):
    print(f"wrote {path} ({os.path.getsize(path):,} bytes)", file=err)


def _json(value):
    return to_json(value)


def _convention_lines(analysis, name, units) -> list[str]:
    if name in (None, "macs"):
        return []
    convention = get_convention(name)
    total = convention.total(analysis)
    printed = convention.as_printed(total)
    shown = f"{number(total, units)}" + (f" = {printed}" if printed else "")
    return [f"{convention.unit} [{convention.name}]  {shown}  ({convention.summary})"]


def _prove_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cnncalc prove", description="Sympy proofs: 'receptive-field' proves r_0 = sum_l (k_l - 1) prod_{i<l} s_i + 1 by induction, the N stacked FxF corollary and the parameter comparison.")
    parser.add_argument("theorem", choices=("receptive-field",), help="what to prove")
    parser.add_argument("--n", type=int, metavar="N", help="instance: number of stacked convolutions (with --f)")
    parser.add_argument("--f", type=int, metavar="F", help="instance: kernel size of each convolution (with --n)")
    parser.add_argument("--format", choices=PROOF_FORMATS, default="text", help="readable text or a LaTeX document")
    return parser


def _prove(argv, out) -> int:
    args = _prove_parser().parse_args(argv)
    for flag, value in (("--n", args.n), ("--f", args.f)):
        if value is not None and value <= 0:
            raise SpecError(f"{flag} must be positive, got {value}")
    from .proofs import prove_receptive_field  # sympy

    proof = prove_receptive_field(n=args.n, f=args.f)
    print(proof.latex() if args.format == "latex" else proof.text(), file=out)
    return EXIT_OK


def _compare_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cnncalc compare", description="Analyses side by side: outputs, MACs per branch and in total, parameters, saving factor against the first model.")
    parser.add_argument("models", nargs="+", help="two or more zoo names, notation or files")
    parser.add_argument("--input", metavar="SIZE", help="input size for every model (32x32x3, 16x64, 100)")
    parser.add_argument("--units", choices=UNITS, default="exact")
    parser.add_argument("--format", choices=COMPARISON_FORMATS, default="text")
    parser.add_argument("--convention", choices=CONVENTION_NAMES, help="count operations as another tool does")
    parser.add_argument("--html", metavar="FILE", help="also write the networks side by side with the saving in one self-contained page")
    parser.add_argument("--verbose", action="store_true", help="let native log lines through to stderr (TensorFlow's, for keras:NAME models; silenced by default)")
    return parser


def _compare(argv, out, err) -> int:
    args = _compare_parser().parse_args(argv)
    if len(args.models) < 2:
        raise SpecError("compare needs at least two models")
    with _quiet_tensorflow(args.models, args.verbose):
        specs = [load_spec(m, input=input_size(args.input) if args.input else None) for m in args.models]
    from .compare import compare

    comparison = compare(specs, convention=args.convention)
    for warning in comparison.warnings:
        print(f"warning: {visible(warning)}", file=err)
    print(render_comparison(comparison, fmt=args.format, units=args.units), file=out)
    if args.html:
        from .html import compare_page

        _write(args.html, compare_page(comparison, units=args.units), err)
    return EXIT_OK


def _quiet_tensorflow(models, verbose: bool, keras: bool = False):
    """Where TensorFlow loads (``keras:NAME``, ``--via-keras``, ``--check-keras``: ``keras``), the
    command's block with TensorFlow's native log (absl, oneDNN, cpu_feature_guard: written to
    descriptor 2 by C++, some lines before any setting is read) sent to ``os.devnull`` unless
    ``--verbose``, while cnncalc's own lines still reach stderr (:mod:`cnncalc.native_stderr`,
    shared with ``cnntrain``). Other commands keep descriptor 2 as it is (``python -X importtime``
    writes there)."""
    if verbose or not (keras or _names_keras_application(models)):
        return contextlib.nullcontext()
    from .native_stderr import redirected

    return redirected()  # nowhere: cnncalc has no run directory


def _names_keras_application(models) -> bool:
    names = set(zoo.names())
    others = [m for m in models if m.strip().lower().replace("_", "-") not in names]
    if not others:  # zoo models: no importer is loaded to tell
        return False
    from .importers.keras import PREFIX

    return any(m.startswith(PREFIX) for m in others)


def _one_line(message) -> str:
    """The message on one line, its control characters (quoted names and input may hold line
    breaks or ESC sequences) written as escapes: ``\\n``, ``\\x1b`` (:mod:`cnncalc.printable`)."""
    return visible(message)


def main(argv=None, out=None, err=None) -> int:
    """Entry point of the ``cnncalc`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # A closed stream is None in sys: print(file=None) would write to stdout (corrupting
    # --format json) or nowhere at all. So a closed stderr loses the message, a closed stdout is
    # an error said on stderr.
    err = _Unfailing(err)  # None: sys.stderr as it is when written to (--verbose aside, it changes)
    out = out or sys.stdout
    if out is None:
        print("error: cannot write the output: standard output is closed", file=err)
        return EXIT_USAGE
    try:
        code = _run(argv, out, err)
        out.flush()
        return code
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # writing the output failed (/dev/full, a closed descriptor)
        if out is sys.stdout:  # drop what could not be written, so the exit flush cannot fail again
            with open(os.devnull, "w") as sink:
                os.dup2(sink.fileno(), sys.stdout.fileno())
        print(f"error: cannot write the output: {_one_line(exc)}", file=err)
        return EXIT_USAGE


class _Unfailing:
    """The error stream, whose writes never fail: a closed or unwritable stderr loses the
    message instead of raising (a failed write must not look like a failure of stdout)."""

    def __init__(self, stream=None):
        self.stream = stream  # None: whatever sys.stderr is at each write

    def _target(self):
        return self.stream if self.stream is not None else sys.stderr

    def write(self, text):
        try:
            target = self._target()
            return target.write(text) if target is not None else len(text)
        except (OSError, ValueError):
            return len(text)

    def flush(self):
        try:
            target = self._target()
            if target is not None:
                target.flush()
        except (OSError, ValueError):
            pass


def _run(argv, out, err) -> int:
    """The command; main() adds the handling of the output streams."""
    try:
        if argv and argv[0] == "list":
            if len(argv) > 1:
                raise SpecError(f"'list' takes no arguments, got {' '.join(argv[1:])}")
            return _list(out)
        if argv and argv[0] == "prove":
            return _prove(argv[1:], out)
        if argv and argv[0] == "compare":
            return _compare(argv[1:], out, err)
        args = _build_parser().parse_args(argv)
        if args.classes is not None and args.classes <= 0:
            raise SpecError(f"--classes must be positive, got {args.classes}")
        if args.bytes <= 0:
            raise SpecError(f"--bytes must be positive, got {args.bytes}")
        with _quiet_tensorflow([args.model], args.verbose, args.check_keras or args.via_keras):
            return _analyse(args, out, err)
    except SpecError as exc:
        print(f"error: {_one_line(exc)}", file=err)
        return EXIT_USAGE
    except BrokenPipeError:
        raise
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EBADF, errno.EIO) and exc.filename is None:
            raise  # the output could not be written: main() says so
        print(f"error: {_one_line(exc)}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=err)
        return 130
    except Exception as exc:  # a bug, not bad input: still one line, unless debugging
        if os.environ.get("CNNCALC_DEBUG"):
            raise
        print(f"error: internal error ({type(exc).__name__}: {_one_line(exc)}); set CNNCALC_DEBUG=1 for the traceback", file=err)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())

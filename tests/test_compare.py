"""cnncalc compare: the inception exercise (docs/design.md reference numbers)."""

import io
import json

from cnncalc import zoo
from cnncalc.cli import main
from cnncalc.compare import compare


def test_inception_naive_vs_reduced():
    c = compare([zoo.get("inception-naive"), zoo.get("inception-reduced")])
    naive, reduced = c.columns
    assert naive.output == (32, 32, 672) and reduced.output == (32, 32, 480)
    assert naive.ops == 1_115_684_864 and reduced.ops == 397_410_304
    assert [v for _, v in naive.branches] == [33_554_432, 452_984_832, 629_145_600, 0]
    assert [v for _, v in reduced.branches] == [33_554_432, 260_046_848, 87_031_808, 16_777_216]
    assert sum(v for _, v in reduced.branches) == reduced.ops
    assert round(c.saving(1), 2) == 2.81
    assert (naive.params, reduced.params) == (1_089_952, 388_736)


def test_cli_compare_text_and_json():
    out, err = io.StringIO(), io.StringIO()
    assert main(["compare", "inception-naive", "inception-reduced"], out=out, err=err) == 0
    text = out.getvalue()
    for needle in ("32x32x672", "32x32x480", "1,115,684,864", "397,410,304", "2.81x"):
        assert needle in text
    out = io.StringIO()
    assert main(["compare", "inception-naive", "inception-reduced", "--format", "json"], out=out, err=err) == 0
    data = json.loads(out.getvalue())
    assert [m["ops"] for m in data["models"]] == [1_115_684_864, 397_410_304]


def test_cli_compare_needs_two_models():
    out, err = io.StringIO(), io.StringIO()
    assert main(["compare", "vgg16"], out=out, err=err) == 2
    assert err.getvalue().startswith("error:")

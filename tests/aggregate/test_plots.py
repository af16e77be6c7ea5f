"""Figures: both formats written, non-empty, byte-identical across calls and settings."""

import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from biorepro.aggregate import plots
from biorepro.aggregate.budget import expected_test_of_best

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def per_seed():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"seed": range(8), "test_hter": rng.uniform(0.05, 0.2, 8),
                         "test_auc": rng.uniform(0.85, 0.99, 8)})


def histories():
    rng = np.random.default_rng(1)
    return {s: pd.DataFrame({"epoch": range(1, 6), "loss": np.sort(rng.random(5))[::-1],
                             "val_loss": rng.random(5) + 0.2})
            for s in ("seed 0", "seed 1", "seed 2")}


def det_curves():
    rng = np.random.default_rng(2)
    curves = {f"seed {s}": (rng.normal(0, 1, 60), rng.normal(2, 1, 40)) for s in range(3)}
    curves["seed 9 (diverged)"] = (np.full(60, np.nan), np.full(40, np.nan))
    return curves


def score_tables():
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"label": ["bonafide"] * 30 + ["attack"] * 50,
                          "score": np.r_[rng.normal(1, 0.5, 30), rng.normal(0, 0.5, 50)]})
    table.loc[0, "score"] = np.nan
    return table, table.assign(score=table.score + 0.1)


CASES = {
    "metric_seeds": lambda stem: plots.plot_metric_seeds(per_seed(), ["test_hter", "test_auc"],
                                                         stem, title="HTER"),
    "training": lambda stem: plots.plot_training_curves(histories(), stem),
    "det": lambda stem: plots.plot_det(det_curves(), stem, title="test"),
    "histograms": lambda stem: plots.plot_score_histograms(*score_tables(), 0.5, stem),
    "expected_best": lambda stem: plots.plot_expected_best(
        expected_test_of_best(per_seed().test_hter, per_seed().test_hter + 0.01), stem,
        metrics=("devel_eer", "test_hter"), title="best of k"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_writes_svg_and_png_deterministically(name, tmp_path):
    first, second = CASES[name](tmp_path / "one"), CASES[name](tmp_path / "two")
    assert [p.suffix for p in first] == [".svg", ".png"]
    svg, png = first
    assert svg.read_bytes().startswith(b"<?xml") and b"<svg" in svg.read_bytes()
    assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 1000
    assert svg.read_bytes() == second[0].read_bytes()
    assert png.read_bytes() == second[1].read_bytes()


def test_user_settings_and_dates_do_not_change_the_bytes(tmp_path, monkeypatch):
    first = CASES["det"](tmp_path / "one")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    with matplotlib.rc_context({"lines.linewidth": 4, "font.size": 20, "svg.hashsalt": None,
                                "axes.grid": True}):
        second = CASES["det"](tmp_path / "two")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert b"<dc:date>" not in first[0].read_bytes()
    assert b"tEXt" not in first[1].read_bytes() and b"tIME" not in first[1].read_bytes()


def test_jitter_seed_changes_the_figure(tmp_path):
    a = plots.plot_metric_seeds(per_seed(), ["test_hter"], tmp_path / "a")[0].read_bytes()
    b = plots.plot_metric_seeds(per_seed(), ["test_hter"], tmp_path / "b",
                                jitter_seed=1)[0].read_bytes()
    assert a != b


def test_det_axes_and_skipped_curves(tmp_path):
    svg = plots.plot_det(det_curves(), tmp_path / "det")[0].read_text()
    texts = re.findall(r"<!-- (.*?) -->", svg)  # matplotlib names each text drawn as paths
    assert "FAR = APCER (%)" in texts and "FRR = BPCER (%)" in texts
    assert texts.count("0.1") == 2 and texts.count("99") == 2  # ticks in percent
    assert "seed 0" in texts and "seed 9 (diverged)" not in texts  # no scores: no curve


def test_identical_det_curves_are_drawn_once_naming_each_run(tmp_path):
    curves = det_curves()
    curves["seed 4"] = curves["seed 1"]
    svg = plots.plot_det(curves, tmp_path / "det")[0].read_text()
    texts = re.findall(r"<!-- (.*?) -->", svg)
    assert "seed 1 = seed 4" in texts and "seed 4" not in texts and "seed 0" in texts


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(ValueError, match="test_eer"):
        plots.plot_metric_seeds(per_seed(), ["test_eer"], tmp_path / "x")
    with pytest.raises(ValueError, match="seed 0: missing column 'val_loss'"):
        plots.plot_training_curves({"seed 0": pd.DataFrame({"loss": [1.0]})}, tmp_path / "x")
    with pytest.raises(ValueError, match="test scores"):
        plots.plot_score_histograms(score_tables()[0], pd.DataFrame({"x": [1]}), 0.5,
                                    tmp_path / "x")
    with pytest.raises(ValueError, match="missing columns \\['expected_best_devel'"):
        plots.plot_expected_best(pd.DataFrame({"k": [1], "expected_test_at_best_devel": [0.1]}),
                                 tmp_path / "x")


def texts(svg: Path) -> list[str]:
    """The texts of a figure (matplotlib writes each as a comment beside its paths)."""
    return re.findall(r"<!-- (.*?) -->", svg.read_text())


def test_figure_labels_say_what_each_line_is_once(tmp_path):
    [svg, _] = plots.plot_training_curves(histories(), tmp_path / "t")
    words = texts(svg)
    assert "seed 0" in words and not any("seed seed" in w for w in words)
    ticks = [w for w in words if re.fullmatch(r"[0-9.]+", w)]
    assert "1.5" not in ticks and "2.5" not in ticks  # whole epochs
    best = expected_test_of_best(per_seed().test_hter, per_seed().test_hter + 0.01)
    [svg, _] = plots.plot_expected_best(best, tmp_path / "b", metrics=("devel_eer", "test_hter"))
    words = texts(svg)
    assert "best devel EER of k runs" in words and "test HTER of the run picked on devel" in words
    assert "expected devel EER (%)" not in words and "expected value (%)" in words
    assert not [w for w in words if re.fullmatch(r"\d+\.5", w)]  # whole numbers of runs

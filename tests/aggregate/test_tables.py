"""Summary and comparison tables in CSV, Markdown and LaTeX."""

import numpy as np
import pandas as pd
import pytest

from biorepro.aggregate.compare import compare_table
from biorepro.aggregate.stats import summarize_seeds
from biorepro.aggregate.tables import (
    format_summary,
    format_value,
    latex_escape,
    to_latex,
    to_markdown,
    write_comparison,
    write_summary,
)


def per_seed(shift=0.0):
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "seed": range(6), "status": ["ok"] * 5 + ["diverged"],
        "test_hter": rng.uniform(0.05, 0.15, 6) + shift,
        "test_auc": rng.uniform(0.9, 0.99, 6),
        "threshold": rng.normal(0.5, 0.1, 6),
    })


def test_format_value():
    assert format_value("test_hter", 0.12345) == "12.35%"
    assert format_value("test_apcer_print", 0.5, digits=1) == "50.0%"
    assert format_value("test_auc", 0.956044) == "0.956"
    assert format_value("threshold", 1234.5678) == "1235"
    assert format_value("test_hter", float("nan")) == "n/a"


def test_summary_files(tmp_path):
    summary = summarize_seeds(per_seed(), n_boot=500)
    paths = write_summary(summary, tmp_path / "summary", n_boot=500, caption="HTER 50_x",
                          label="tab:x")
    assert sorted(paths) == ["csv", "md", "tex"]
    # CSV: raw numbers, full precision, parse back
    back = pd.read_csv(paths["csv"])
    assert list(back.metric) == ["test_hter", "test_auc", "threshold"]
    np.testing.assert_allclose(back["mean"], summary["mean"], rtol=0, atol=1e-15)
    # Markdown: caption, header + separator + one row per metric, note with ddof
    md = paths["md"].read_text()
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + len(summary)
    assert len({line.count("|") for line in rows}) == 1
    assert rows[1].startswith("|:---|---:|")
    assert "| test_hter | 5/6 |" in md and "%" in rows[2] and "%" not in rows[3]
    assert md.startswith("HTER 50_x\n") and "ddof=1" in md and "500 resamples" in md
    # 5 seeds: every interval marked approximate, the note says what that means
    assert rows[2].count("] (approx.)") == 2 and "clipped to the metric's range" in md
    assert "(approx.): fewer than 10 seeds" in md
    # LaTeX: booktabs rules in order, escaped specials, one row per metric
    tex = paths["tex"].read_text()
    top, mid, bottom = (tex.index(rule) for rule in (r"\toprule", r"\midrule", r"\bottomrule"))
    assert top < mid < bottom
    body = tex[mid:bottom].splitlines()[1:]
    assert len(body) == len(summary) and all(line.endswith(r"\\") for line in body)
    assert r"test\_hter" in tex and r"\%" in tex and r"\caption{HTER 50\_x}" in tex
    assert r"\label{tab:x}" in tex and r"\begin{tabular}{lrrrrrrrr}" in tex
    assert "ddof=1" in tex


def test_formatted_summary_columns():
    table = format_summary(summarize_seeds(per_seed(), n_boot=200), ci=0.9)
    assert list(table.columns) == ["Metric", "n", "Mean", "Std", "Median", "Min", "Max",
                                   "90% CI (bootstrap)", "90% CI (t)"]
    assert table.loc[0, "Mean"].endswith("%") and table.loc[0, "n"] == "5/6"


def test_generic_writers_escape():
    table = pd.DataFrame({"name": ["a|b", "x&y"], "value": ["1", "2"]})
    md = to_markdown(table, note="note")
    assert r"a\|b" in md and md.rstrip().endswith("note")
    tex = to_latex(table)
    assert r"x\&y" in tex and r"\caption" not in tex
    assert latex_escape(r"50% of $x_1$ {a} #1 ~^\ ") == (
        r"50\% of \$x\_1\$ \{a\} \#1 \textasciitilde{}\textasciicircum{}\textbackslash{} ")


def test_comparison_files(tmp_path):
    comparison = compare_table({"new": per_seed(-0.05), "old": per_seed()}, [("new", "old")],
                               {"test_hter": True, "test_auc": False}, n_boot=300)
    paths = write_comparison(comparison, tmp_path / "cmp", n_boot=300)
    md = paths["md"].read_text()
    assert len([line for line in md.splitlines() if line.startswith("|")]) == 2 + 2
    # 5 ok seeds in common: no verdict yet; power and pairs for 80% power are shown
    assert "not enough seeds: 5 pairs, need ≥ 6" in md and "Bouthillier" in md
    assert "| Power | Pairs for 80% power |" in md and "from 6 pairs on" in md
    assert pd.read_csv(paths["csv"]).shape[0] == 2
    assert r"\bottomrule" in paths["tex"].read_text()


@pytest.mark.parametrize("value", [None, float("nan")])
def test_missing_values_print_as_na(value):
    assert format_value("test_far", value) == "n/a"


def test_operating_points_get_their_own_table(tmp_path):
    rng = np.random.default_rng(1)
    names = ["test_tpr_at_fpr_0.5pct", "test_apcer_at_apcer_10pct", "test_bpcer_at_apcer_10pct",
             "test_hter", "devel_bpcer_at_apcer_1pct", "test_bpcer_at_apcer_1pct",
             "test_apcer_pooled", "test_tpr_at_fpr_1pct", "devel_bpcer_at_apcer_10pct"]
    table = pd.DataFrame({"seed": range(4), "status": ["ok"] * 4,
                          **{m: rng.uniform(0, 1, 4) for m in names}})
    summary = summarize_seeds(table, metrics=names, n_boot=200)
    paths = write_summary(summary, tmp_path / "s", n_boot=200, caption="x", label="tab:x")
    assert list(pd.read_csv(paths["csv"]).metric) == names  # the CSV keeps every row
    md = paths["md"].read_text()
    main, points = md.split("x: operating points\n")
    assert [r.split(" | ")[0] for r in main.splitlines() if r.startswith("| test")] == [
        "| test_hter", "| test_apcer_pooled"]
    # grouped by target kind, then target, devel before test, the rate reached last
    assert [r.split(" | ")[0][2:] for r in points.splitlines() if r[:3] in ("| d", "| t")] == [
        "devel_bpcer_at_apcer_1pct", "test_bpcer_at_apcer_1pct", "devel_bpcer_at_apcer_10pct",
        "test_bpcer_at_apcer_10pct", "test_apcer_at_apcer_10pct", "test_tpr_at_fpr_0.5pct",
        "test_tpr_at_fpr_1pct"]
    assert "%" in points.splitlines()[4] and "devel APCER (max over attack " in points
    assert md.count("ddof=1") == 2
    tex = paths["tex"].read_text()
    assert tex.count(r"\begin{table}") == 2 and r"\label{tab:x-op}" in tex

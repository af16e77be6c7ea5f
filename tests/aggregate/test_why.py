"""The answer to "why do results change?": its numbers carry their n and method, and the
pages that show it."""

import numpy as np
import pandas as pd
import pytest

from biorepro.aggregate import stats, tables, why

ST = {"n_boot": 500, "ci": 0.95, "bootstrap_seed": 0, "target_half_width": 0.01}


def runs_table(n_init=3, n_order=3) -> pd.DataFrame:
    """A one-at-a-time design whose test HTER moves with init only (by 0.05 a seed)."""
    rows = [(0, 0)] + [(i, 0) for i in range(1, n_init)] + [(0, o) for o in range(1, n_order)]
    return pd.DataFrame([{"seed": f"i{i}-o{o}-n0", "init": i, "order": o, "noise": 0,
                          "split": None, "replicate": 0, "status": "ok",
                          "test_hter": 0.1 + 0.05 * i, "devel_eer": 0.2 - 0.01 * o}
                         for i, o in rows])


def test_variance_leaves_out_sources_not_varied_and_the_split_of_the_dataset():
    shares = why.variance(runs_table(), "one-at-a-time", ST)
    hter = shares[shares["metric"] == "test_hter"].set_index("component")
    assert list(hter.index) == ["init", "order"]
    assert hter.loc["init", "share"] == pytest.approx(1.0)
    assert hter.loc["init", "variance"] == pytest.approx(np.var([0.1, 0.15, 0.2], ddof=1))


def samples(errors: int, videos: int = 8) -> pd.DataFrame:
    """One subject per video pair; the first ``errors`` attack videos are accepted."""
    rows = []
    for v in range(videos):
        bonafide = v % 2 == 0
        score = 0.9 if bonafide else (0.8 if v // 2 < errors else 0.1)
        rows.append({"video_id": f"v{v}", "subject": f"s{v // 2}",
                     "label": "bonafide" if bonafide else "attack",
                     "attack_type": "print", "score": score})
    return pd.DataFrame(rows)


def test_the_answer_states_each_numbers_n_and_method():
    per_run = runs_table()
    summary = stats.summarize_seeds(per_run, metrics=["test_hter", "devel_eer"], n_boot=500)
    shares = why.variance(per_run, "one-at-a-time", ST)
    spread = why.sampling({"all": [(samples(e), 0.5) for e in (0, 1, 2)]}, ST)
    best = why.best_of(per_run)
    lines = why.answer(summary, shares, spread, best, ST, "one-at-a-time")
    text = "\n".join(lines)
    assert "over n = 5 runs" in text and "ddof 1" in text
    assert "one-at-a-time: sample variance per source" in text and "init 100%" in text
    assert "hierarchical bootstrap, 500 replicates" in text and "4 subjects" in text
    assert "seeds (range" in text and "chi-square" in text
    assert "Dodge et al. 2019" in text and "of 5 runs" in text
    plain = why.answer(summary, None, spread, best, ST, None)
    assert any("set `randomness`" in line for line in plain)


def test_best_of_k_picks_on_devel_and_reports_test():
    per_run = runs_table()
    best = why.best_of(per_run)
    assert best["k"].tolist() == [1, 2, 3, 4, 5]
    assert best["expected_test_at_best_devel"].iloc[0] == pytest.approx(per_run["test_hter"].mean())
    # devel is best for the runs with order 2 (init 0): their test HTER is 0.1
    assert best["expected_best_devel"].iloc[-1] < best["expected_best_devel"].iloc[0]


def test_pages_render_markdown_and_embed_figures(tmp_path):
    png = tmp_path / "f.png"
    png.write_bytes(b"\x89PNG fake")
    page = why.html_page("t <x>", ["# Title", "", "- **Bold** and `code` & more", "- two",
                                   "plain text"], [png])
    assert "<title>t &lt;x&gt;</title>" in page and "<h1>Title</h1>" in page
    assert ("<ul>\n<li><b>Bold</b> and <code>code</code> &amp; more</li>\n<li>two</li>\n"
            "</ul>") in page
    assert "<p>plain text</p>" in page and "data:image/png;base64,iVBORyBmYWtl" in page
    rst = why.landing_rst("exp", ".. csv-table::\n", ["- a line"], png)
    assert rst.startswith("exp\n---\n") and "   iVBORyBmYWtl" in rst
    assert all(len(line) <= 80 for line in rst.splitlines())


def test_rst_tables_quote_their_cells():
    table = pd.DataFrame({"Metric": ["a"], "CI": ['[1%, "2%"]']})
    assert tables.to_rst(table, caption="cap") == (
        '.. csv-table:: cap\n   :header: "Metric", "CI"\n\n   "a", "[1%, ""2%""]"\n')


def test_an_experiment_whose_runs_all_diverged_gets_an_answer_without_numbers():
    per_run = runs_table().assign(status="diverged", test_hter=np.nan, devel_eer=np.nan)
    summary = stats.summarize_seeds(per_run, metrics=["test_hter", "devel_eer"], n_boot=500)
    shares, spread = why.variance(per_run, "one-at-a-time", ST), why.sampling({}, ST)
    best = why.best_of(per_run)
    assert shares.empty and spread.empty and best.empty
    lines = why.answer(summary, shares, spread, best, ST, "one-at-a-time")
    assert lines == ["- **Spread**: test_hter is n/a ± n/a (mean ± std, ddof 1) over n = 0 "
                     "runs, range n/a to n/a."]

import math

import pandas as pd

from biorepro.aggregate import summary as said

ST = {"n_boot": 200, "ci": 0.95, "bootstrap_seed": 0, "target_half_width": 0.01}


def per_seed():
    return pd.DataFrame({"seed": [0, 1, 2], "status": ["ok"] * 3, "init": [0, 1, 2],
                         "zeta": [1.0, 2.0, 3.0], "test_auc": [0.9, 0.8, 0.85],
                         "epochs_trained": [5, 5, 4], "test_hter": [0.1, 0.2, 0.15]})


def test_metric_columns_put_the_headline_first_and_leave_identifiers_out():
    assert said.metric_columns(per_seed()) == ["test_hter", "test_auc", "epochs_trained",
                                               "zeta"]


def test_seeds_needed_only_for_rates():
    s = said.summarize_level(per_seed(), ST).set_index("metric")
    assert s.loc["test_hter", "seeds_needed"] > 3
    assert math.isnan(s.loc["test_auc", "seeds_needed"])
    assert math.isnan(s.loc["zeta", "seeds_needed"])


def test_the_landing_table_shows_n_and_the_interval():
    rst = said.landing_table(said.summarize_level(per_seed(), ST), "video")
    assert ':header: "Metric", "n", "Mean", "Std", "95% CI (bootstrap)"' in rst
    assert '"test_hter", "3/3", "15.00%"' in rst and "zeta" not in rst


def test_markdown_pieces():
    assert said.level_lines("video", "T", None, [], False)[-2] == "Diverged seeds: none."
    assert said.level_lines("frame", "T", "F", ["all/2"], True)[:6] == [
        "## Frame level", "", "T", "", "F", ""]
    lines = said.paper_lines({"title": "A paper", "source": "CVPR 2020"}, "T")
    assert "Published in *A paper*, CVPR 2020." in lines
    assert said.header("x", ["1", "2"])[2].startswith("Folds: 1, 2.")

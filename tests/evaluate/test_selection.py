"""Selection rules on recorded per-epoch scores with known answers."""

import math

import numpy as np
import pandas as pd
import pytest

from biorepro.evaluate import selection
from biorepro.evaluate.seed import evaluate

# Frame scores of 4 bona fide and 4 attack samples per split, by epoch.
TEST = {1: ([0.9, 0.8, 0.7, 0.6], [0.1, 0.2, 0.3, 0.4]),   # separable: HTER 0 at test EER
        2: ([0.9, 0.8, 0.7, 0.2], [0.1, 0.4, 0.3, 0.6]),   # one error in each class
        3: ([0.9, 0.6, 0.5, 0.4], [0.1, 0.2, 0.3, 0.7])}
DEVEL = {1: ([0.95, 0.96, 0.97, 0.98], [0.91, 0.92, 0.93, 0.94]),  # a threshold above every
         # test score: every bona fide test sample rejected
         2: ([0.9, 0.8, 0.7, 0.6], [0.1, 0.2, 0.3, 0.4]),
         3: ([0.9, 0.8, 0.7, 0.6], [0.1, 0.2, 0.3, 0.65])}


def table(bonafide, attack, split="test"):
    rows = [{"video_id": f"{split}-b{i}", "subject": f"s{i}", "label": "bonafide",
             "attack_type": "", "frame": 0, "score": s} for i, s in enumerate(bonafide)]
    rows += [{"video_id": f"{split}-a{i}", "subject": f"s{i}", "label": "attack",
              "attack_type": "print", "frame": 0, "score": s} for i, s in enumerate(attack)]
    return pd.DataFrame(rows)


def tables(scores, split):
    return {e: table(*bf_att, split) for e, bf_att in scores.items()}


def rules(devel=DEVEL, test=TEST, best_devel=2):
    rows = selection.rules(tables(devel, "devel"), tables(test, "test"), best_devel,
                           level="frame", fusion="mean")
    return {(r["threshold"], r["checkpoint"]): r for r in rows}


def hter(devel_epoch, test_epoch, threshold_on):
    d, t = table(*DEVEL[devel_epoch], "devel"), table(*TEST[test_epoch])
    return evaluate(d if threshold_on == "devel" else t, t, level="frame")["test_hter"]


def test_each_rule_takes_its_epoch_and_its_threshold():
    found = rules()
    assert list(found) == [(t, c) for t in selection.THRESHOLDS for c in selection.CHECKPOINTS]
    assert {k: r["epoch"] for k, r in found.items()} == {
        ("devel", "last"): 3, ("devel", "best-devel"): 2, ("devel", "best-test"): 2,
        ("test", "last"): 3, ("test", "best-devel"): 2, ("test", "best-test"): 1}
    for (threshold, _), r in found.items():
        assert r["test_hter"] == hter(r["epoch"], r["epoch"], threshold)
    assert found["test", "best-test"]["test_hter"] == 0.0  # separable on test at epoch 1
    assert hter(1, 1, "devel") == 0.5  # epoch 1's devel threshold rejects every bona fide


def test_best_test_is_the_lowest_test_hter_and_the_optimism_is_the_difference():
    found = rules()
    for threshold in selection.THRESHOLDS:
        lowest = min(hter(e, e, threshold) for e in TEST)
        assert found[threshold, "best-test"]["test_hter"] == lowest
        assert all(found[threshold, "best-test"]["test_hter"] <= r["test_hter"]
                   for (t, _), r in found.items() if t == threshold)
    honest = found["devel", "best-devel"]["test_hter"]
    assert honest == 0.25 and selection.optimism(list(found.values())) == honest - 0.0 >= 0


def test_ties_go_to_the_earlier_epoch_and_an_unscored_epoch_is_never_best():
    same = {e: TEST[1] for e in TEST}
    assert rules(test=same)["test", "best-test"]["epoch"] == 1
    nan = {**TEST, 1: ([math.nan] * 4, [math.nan] * 4)}
    found = rules(test=nan)
    assert found["test", "best-test"]["epoch"] in (2, 3)
    assert not math.isnan(found["test", "best-test"]["test_hter"])


def test_epoch_tables_replace_the_scores_and_check_their_shape():
    final = table(*TEST[3])
    scores = np.array([[0.5] * 8, [0.25] * 8], np.float32)
    by_epoch = selection.epoch_tables(final, [2, 4], scores)
    assert list(by_epoch) == [2, 4] and (by_epoch[4]["score"] == 0.25).all()
    assert by_epoch[2].drop(columns="score").equals(final.drop(columns="score"))
    with pytest.raises(ValueError, match="expected \\(3 epochs, 8 rows"):
        selection.epoch_tables(final, [1, 2, 3], scores)
    with pytest.raises(ValueError, match="the epoch training kept 5"):
        selection.rules(tables(DEVEL, "devel"), tables(TEST, "test"), 5, level="frame",
                        fusion="mean")

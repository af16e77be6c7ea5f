"""Hierarchical bootstrap over test subjects, videos and training runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from biorepro.aggregate.sampling import (
    COLUMNS,
    METRICS,
    _test_weights,
    hierarchical_bootstrap,
    video_counts,
)
from biorepro.evaluate.fusion import fuse
from biorepro.evaluate.seed import evaluate

TYPES = ("print", "replay")


def frame_table(rng, n_subjects=6, n_bonafide=2, n_attack=2, nan_rate=0.1, shift=0.0):
    """Frame scores: each subject has ``n_bonafide`` bona fide and ``n_attack`` videos of each
    attack type, 3 to 6 frames a video, bona fide scoring higher, some NaN."""
    rows = []
    for s in range(n_subjects):
        kinds = [("bonafide", "")] * n_bonafide + [("attack", t) for t in TYPES] * n_attack
        for v, (label, kind) in enumerate(kinds):
            centre = (1.0 if label == "bonafide" else -0.5) + shift + rng.normal(0, 0.8)
            for f in range(rng.integers(3, 7)):
                score = np.nan if rng.random() < nan_rate else centre + rng.normal(0, 0.5)
                rows.append((f"s{s}_v{v}", f"s{s}", label, kind, f, score))
    return pd.DataFrame(rows, columns=["video_id", "subject", "label", "attack_type", "frame",
                                       "score"])


def by_metric(table: pd.DataFrame) -> pd.DataFrame:
    assert list(table.columns) == list(COLUMNS)
    assert list(table["metric"]) == list(METRICS)
    return table.set_index("metric")


@pytest.mark.parametrize("level", ["frame", "video"])
def test_point_estimates_equal_evaluate(level):
    rng = np.random.default_rng(1)
    frames = [frame_table(rng, shift=shift) for shift in (0.0, 0.4, -0.3)]
    runs, expected = [], []
    for table in frames:
        result = evaluate(table, table, level=level)  # devel = test: some threshold
        samples = table if level == "frame" else fuse(table)
        samples = samples.assign(attack_type=samples["attack_type"].replace("", "bonafide"))
        runs.append((samples, result["threshold"]))
        expected.append(result)
        assert 0 < result["test_hter"] < 0.5
        # a single run: exactly the value of evaluate()
        single = by_metric(hierarchical_bootstrap(runs[-1:], n_boot=20))
        for metric in METRICS:
            assert single.loc[metric, "mean"] == result[metric]
    summary = by_metric(hierarchical_bootstrap(runs, n_boot=20))
    for metric in METRICS:
        assert summary.loc[metric, "mean"] == pytest.approx(
            np.mean([r[metric] for r in expected]), rel=1e-14)
    assert summary.loc["test_hter", ["n_runs", "n_subjects", "n_videos"]].tolist() == [3, 6, 36]


def test_video_counts():
    samples = pd.DataFrame({
        "video_id": ["b", "a", "a", "b", "c", "c"],
        "subject": ["s1", "s1", "s1", "s1", "s2", "s2"],
        "label": ["bonafide", "attack", "attack", "bonafide", "attack", "attack"],
        "attack_type": ["whatever", "print", "print", "x", "", ""],
        "score": [0.2, 0.5, np.nan, 0.9, 0.1, 0.7],
    })
    counts = video_counts(samples, 0.5)
    assert counts.to_dict("list") == {
        "video_id": ["a", "b", "c"], "subject": ["s1", "s1", "s2"],
        "label": ["attack", "bonafide", "attack"], "attack_type": ["print", "", "attack"],
        "n_scored": [1, 2, 2], "n_errors": [1, 1, 1]}


def test_identical_runs_have_no_training_spread():
    table = frame_table(np.random.default_rng(2))
    threshold = evaluate(table, table, level="frame")["threshold"]
    out = by_metric(hierarchical_bootstrap([(table, threshold)] * 5, n_boot=300))
    for metric in METRICS:
        row = out.loc[metric]
        assert (row["training_low"], row["training_high"]) == pytest.approx(
            (row["mean"], row["mean"]))
        assert row["training_se"] == pytest.approx(0, abs=1e-12)
        assert row["test_high"] - row["test_low"] > 0.01 and row["test_se"] > 0
        assert row["test_low"] <= row["mean"] <= row["test_high"]
        assert row["test_share"] == pytest.approx(1)
        # the runs are all the same: resampling them changes nothing
        assert (row["both_low"], row["both_high"]) == pytest.approx(
            (row["test_low"], row["test_high"]))


def test_one_subject_has_no_test_spread_unless_its_videos_are_resampled():
    rng = np.random.default_rng(3)
    frames = [frame_table(rng, n_subjects=1, n_bonafide=2, n_attack=2, nan_rate=0, shift=sh)
              for sh in np.linspace(-1.5, 1.5, 8)]
    runs = [(t, 0.25) for t in frames]
    row = by_metric(hierarchical_bootstrap(runs, n_boot=300)).loc["test_hter"]
    assert (row["test_low"], row["test_high"]) == pytest.approx((row["mean"], row["mean"]))
    assert row["test_se"] == pytest.approx(0, abs=1e-12)
    assert row["test_share"] == pytest.approx(0, abs=1e-12)
    assert row["training_high"] - row["training_low"] > 0.05
    assert (row["both_low"], row["both_high"], row["both_se"]) == pytest.approx(
        (row["training_low"], row["training_high"], row["training_se"]))
    two_stage = by_metric(hierarchical_bootstrap(runs, n_boot=300, resample_videos=True))
    assert two_stage.loc["test_hter", "test_se"] > 0.01
    # with one video of each kind, resampling videos within the subject changes nothing
    single = frame_table(rng, n_subjects=1, n_bonafide=1, n_attack=1)
    row = by_metric(hierarchical_bootstrap([(single, 0.25)], n_boot=50, resample_videos=True))
    assert row.loc["test_hter", "test_se"] == pytest.approx(0, abs=1e-12)


def test_video_resampling_keeps_each_subjects_composition():
    table = frame_table(np.random.default_rng(9), n_subjects=4, n_bonafide=3, n_attack=2)
    videos = video_counts(table, 0.0)
    weights = _test_weights(videos, 500, np.random.default_rng(0), True)
    copies = _test_weights(videos, 500, np.random.default_rng(0), False)
    assert weights.sum(axis=1).tolist() == [len(videos)] * 500
    for _, rows in videos.groupby(["subject", "label", "attack_type"]).indices.items():
        # each copy of a subject brings as many videos of each kind as it has
        assert (weights[:, rows].sum(axis=1) == copies[:, rows[0]] * rows.size).all()
        assert (copies[:, rows] == copies[:, rows[:1]]).all()
    assert (weights != copies).any()


def test_both_adds_the_two_sources():
    rng = np.random.default_rng(4)
    frames = [frame_table(rng, n_subjects=10, shift=sh) for sh in np.linspace(-1, 1, 10)]
    out = by_metric(hierarchical_bootstrap([(t, 0.25) for t in frames], n_boot=1000))
    for metric in ("test_hter", "test_acer"):
        row = out.loc[metric]
        # var(both) = var(test) + mean over test resamples of the runs' variance / n_runs
        assert (0.95 * np.hypot(row["training_se"], row["test_se"]) <= row["both_se"]
                <= row["training_se"] + row["test_se"])
        assert row["both_high"] - row["both_low"] > max(
            row["training_high"] - row["training_low"], row["test_high"] - row["test_low"])
        assert 0.1 < row["test_share"] < 0.9


def test_undefined_replicates_are_counted_and_excluded():
    """Only subject s0 has bona fide videos: a resample without it has no FRR."""
    table = frame_table(np.random.default_rng(5), n_subjects=2)
    table = table[(table["subject"] == "s0") | (table["label"] == "attack")]
    out = by_metric(hierarchical_bootstrap([(table, 0.25)], n_boot=2000))
    # P(s0 not drawn) = 1/4 with two subjects
    undefined = out.loc["test_frr", "test_undefined"]
    assert 400 < undefined < 600
    for metric in ("test_hter", "test_frr", "test_bpcer", "test_acer"):
        assert out.loc[metric, "test_undefined"] == out.loc[metric, "both_undefined"] == undefined
    for metric in ("test_far", "test_apcer_ap"):
        assert out.loc[metric, "test_undefined"] == 0
    assert (out[["training_undefined"]] == 0).all().all()
    assert out.drop(columns="test_share").notna().all().all()


def test_reproducible_with_the_same_seed():
    rng = np.random.default_rng(6)
    runs = [(frame_table(rng, shift=sh), 0.25) for sh in (0.0, 0.5, -0.5)]
    first = hierarchical_bootstrap(runs, n_boot=200, seed=7)
    pd.testing.assert_frame_equal(first, hierarchical_bootstrap(runs, n_boot=200, seed=7))
    other = hierarchical_bootstrap(runs, n_boot=200, seed=8)
    assert not np.allclose(first["both_low"], other["both_low"])
    assert (first["mean"] == other["mean"]).all()
    wide = hierarchical_bootstrap(runs, n_boot=200, seed=7, ci=0.99)
    assert (wide["both_high"] - wide["both_low"] >= first["both_high"] - first["both_low"]).all()


def test_invalid_runs_raise():
    rng = np.random.default_rng(7)
    table = frame_table(rng)
    with pytest.raises(ValueError, match="run 1: its test videos"):
        hierarchical_bootstrap([(table, 0.0), (table[table["video_id"] != "s0_v0"], 0.0)])
    relabelled = table.assign(subject=table["subject"].replace("s1", "s0"))
    with pytest.raises(ValueError, match="run 2: its test videos"):
        hierarchical_bootstrap([(table, 0.0), (table, 0.5), (relabelled, 0.0)])
    with pytest.raises(ValueError, match="run 1: threshold is NaN"):
        hierarchical_bootstrap([(table, 0.0), (table, float("nan"))])
    with pytest.raises(ValueError, match="both bona fide and attack"):
        hierarchical_bootstrap([(table[table["label"] == "attack"], 0.0)])
    with pytest.raises(ValueError, match="no runs"):
        hierarchical_bootstrap([])


def test_test_interval_covers_the_population_hter():
    """Subjects differ in how often their videos are misclassified (a subject effect), and
    all frames of a video share its outcome: the ``test`` interval of HTER on a drawn test
    set covers the population HTER about as often as its level says. Resampling videos
    within subjects as well counts their spread twice: wider intervals, over-coverage."""
    rng = np.random.default_rng(8)
    truth = (0.2 + 0.1) / 2  # per subject FRR ~ Beta(2, 8), FAR ~ Beta(1, 9)
    n_sets, covered, se = 200, 0, {False: [], True: []}
    for i in range(n_sets):
        rows = []
        for s in range(15):
            p_reject, p_accept = rng.beta(2, 8), rng.beta(1, 9)
            for v in range(6):
                label = "bonafide" if v < 2 else "attack"
                error = rng.random() < (p_reject if label == "bonafide" else p_accept)
                score = (-1.0 if label == "bonafide" else 1.0) * (1 if error else -1)
                for _ in range(rng.integers(2, 5)):
                    rows.append((f"s{s}_v{v}", f"s{s}", label, TYPES[v % 2], score))
        table = pd.DataFrame(rows, columns=["video_id", "subject", "label", "attack_type",
                                            "score"])
        for videos in (False, True) if i < 50 else (False,):
            row = by_metric(hierarchical_bootstrap([(table, 0.0)], n_boot=400, seed=i,
                                                   resample_videos=videos)).loc["test_hter"]
            covered += not videos and row["test_low"] <= truth <= row["test_high"]
            se[videos].append(row["test_se"])
    assert 0.85 <= covered / n_sets <= 0.99
    assert np.mean(se[True]) > 1.1 * np.mean(se[False][:50])

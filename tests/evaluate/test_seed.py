"""Fusion, devel/test evaluation and the bob.pad.base score CSV format."""

import math

import numpy as np
import pandas as pd
import pytest

from biorepro.evaluate import metrics
from biorepro.evaluate.bobcsv import write_scores
from biorepro.evaluate.fusion import fuse
from biorepro.evaluate.registry import is_rate
from biorepro.evaluate.seed import OPERATING_POINTS, evaluate, pct_name

NAN = float("nan")


def frames(videos):
    """Frame table from {video_id: (label, attack_type, [frame scores])}."""
    rows = [
        {"video_id": vid, "subject": f"s_{vid}", "label": label, "attack_type": kind,
         "frame": i, "score": score}
        for vid, (label, kind, scores) in videos.items()
        for i, score in enumerate(scores)
    ]
    return pd.DataFrame(rows)


def read_bob_csv(path):
    """A written score CSV parsed back as bob does (``is_bonafide`` text, ``float(score)``)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert raw["video_id"].equals(raw["test_label"])
    back = pd.DataFrame({
        "video_id": raw["test_label"], "subject": raw["claimed_id"],
        "label": raw["is_bonafide"].map({"True": "bonafide", "False": "attack"}),
        "attack_type": raw["attack_type"]})
    if "frame" in raw.columns:
        back["frame"] = raw["frame"].astype(int)
    back["score"] = raw["score"].map(float)
    return back


# video means: bona fide 8.5, 6.5; attacks print 2, replay 4.5 and 7 (NaN frame ignored)
DEVEL = frames({
    "d_b1": ("bonafide", "", [8, 9]), "d_b2": ("bonafide", "", [6, 7]),
    "d_p1": ("attack", "print", [1, 3]),
    "d_r1": ("attack", "replay", [4, 5]), "d_r2": ("attack", "replay", [7, NAN]),
})
# video means: bona fide 9, 6.5, NaN (all frames NaN); print 7, 1.5; replay 3.5
TEST = frames({
    "t_b1": ("bonafide", "", [9, 9]), "t_b2": ("bonafide", "", [6, 7]),
    "t_b3": ("bonafide", "", [NAN, NAN]),
    "t_p1": ("attack", "print", [7, 7]), "t_p2": ("attack", "print", [1, 2]),
    "t_r1": ("attack", "replay", [3, 4]),
})


def test_video_level_hand_computed():
    r = evaluate(DEVEL, TEST)
    assert (r["level"], r["fusion"], r["criterion"]) == ("video", "mean", "eer")
    assert math.isnan(r["target"])
    # devel candidates (FAR, FRR): 3.25 (2/3, 0), 5.5 (1/3, 0), 6.75 (1/3, 1/2), 7.75 (0, 1/2)
    assert r["threshold"] == 6.75
    assert r["devel_eer"] == pytest.approx(5 / 12)
    assert (r["devel_n_bonafide"], r["devel_n_attack"], r["devel_fta"]) == (2, 3, 0.0)
    assert (r["test_n_bonafide"], r["test_n_attack"]) == (2, 3)
    assert r["test_fta"] == pytest.approx(1 / 6)
    assert r["test_far"] == pytest.approx(1 / 3)
    assert r["test_frr"] == 0.5
    assert r["test_hter"] == pytest.approx(5 / 12)
    assert (r["test_apcer_print"], r["test_apcer_replay"]) == (0.5, 0.0)
    assert (r["test_apcer_ap"], r["test_bpcer"], r["test_acer"]) == (0.5, 0.5, 0.5)
    assert r["test_auc"] == pytest.approx(5 / 6)
    assert r["test_accuracy"] == pytest.approx(3 / 5)
    assert (r["test_precision"], r["test_recall"], r["test_f1"]) == (0.5, 0.5, 0.5)


def test_threshold_comes_from_devel_only():
    shifted = TEST.assign(score=TEST.score + 0.25)
    r = evaluate(DEVEL, shifted, level="frame")
    assert r["fusion"] == "none"
    dev = DEVEL.dropna(subset=["score"])
    neg, pos = dev.loc[dev.label == "attack", "score"], dev.loc[dev.label == "bonafide", "score"]
    assert r["threshold"] == metrics.eer_threshold(neg, pos)
    assert r["devel_fta"] == pytest.approx(1 / 10)
    test = shifted.dropna(subset=["score"])
    tneg = test.loc[test.label == "attack", "score"]
    tpos = test.loc[test.label == "bonafide", "score"]
    assert r["threshold"] != metrics.eer_threshold(tneg, tpos)
    far, frr = metrics.farfrr(tneg, tpos, r["threshold"])
    assert (r["test_far"], r["test_frr"], r["test_hter"]) == (far, frr, (far + frr) / 2)
    assert r["test_fta"] == pytest.approx(2 / 12)


def test_other_criteria_and_fusions():
    r = evaluate(DEVEL, TEST, fusion="min", criterion="bpcer", target=0.5)
    assert r["fusion"] == "min" and r["target"] == 0.5
    # min fusion: devel attacks print [1], replay [4, 7]; per type FAR <= 0.5:
    # just above 1 (FAR(1) = 1) and 7 (FAR = 1/2); the max over types is 7
    assert r["threshold"] == 7.0
    r = evaluate(DEVEL, TEST, criterion="far", target=0.0)
    assert r["threshold"] == np.nextafter(7.0, np.inf)
    assert r["devel_far"] == 0.0
    r = evaluate(DEVEL, TEST, criterion="min-hter")
    assert r["threshold"] == 5.5  # HTER 1/6 (at 6.75 it is 5/12)


def test_diverged_run_gives_nan_metrics():
    dead_devel = DEVEL.assign(score=NAN)
    r = evaluate(dead_devel, TEST)
    assert math.isnan(r["threshold"]) and math.isnan(r["devel_eer"])
    assert r["devel_fta"] == 1.0 and r["devel_n_bonafide"] == 0
    for key in ("test_far", "test_hter", "test_apcer_print", "test_apcer_ap", "test_acer",
                "test_accuracy", "test_f1"):
        assert math.isnan(r[key]), key
    assert r["test_auc"] == pytest.approx(5 / 6)  # threshold-free, test scores exist
    r = evaluate(dead_devel, TEST.assign(score=NAN), level="frame")
    assert all(math.isnan(v) for k, v in r.items() if k.startswith("test_") and "_n_" not in k
               and k != "test_fta")
    assert r["test_fta"] == 1.0


def test_operating_points_hand_computed():
    r = evaluate(DEVEL, TEST, operating_points={"apcer": [0.01, 0.5], "bpcer": [0.5],
                                                "fpr": [0.5, 0.01]})
    # APCER 1%: no type resolves it (1 and 2 attacks): per type FAR 0, threshold just above
    # 7 (replay); devel bona fide 6.5 rejected; on test print 7 is rejected too
    assert (r["devel_bpcer_at_apcer_1pct"], r["test_bpcer_at_apcer_1pct"],
            r["test_apcer_at_apcer_1pct"]) == (0.5, 0.5, 0.0)
    # APCER 50%: replay FAR(7) = 1/2 -> threshold 7 (print alone: just above 2); test
    # print 7 now accepted: APCER_AP 1/2 (pooled would be 1/3)
    assert (r["devel_bpcer_at_apcer_50pct"], r["test_bpcer_at_apcer_50pct"],
            r["test_apcer_at_apcer_50pct"]) == (0.5, 0.5, 0.5)
    # BPCER 50%: devel bona fide [6.5, 8.5] -> threshold 8.5: devel APCER 0; test bona fide
    # 6.5 rejected, every attack too
    assert (r["devel_apcer_at_bpcer_50pct"], r["test_apcer_at_bpcer_50pct"],
            r["test_bpcer_at_bpcer_50pct"]) == (0.0, 0.0, 0.5)
    # test attacks [1.5, 3.5, 7], bona fide [6.5, 9]: FPR 1/3 at t in (3.5, 6.5] accepts both
    assert r["test_tpr_at_fpr_50pct"] == 1.0
    assert r["test_tpr_at_fpr_1pct"] == 0.5  # FPR 0: t above 7, only 9 accepted
    assert not any("_at_bpcer_1pct" in k for k in r)  # only the targets asked for


def test_pooled_and_iso_apcer_are_both_reported():
    r = evaluate(DEVEL, TEST)  # test at 6.75: print [7, 1.5] 1/2, replay [3.5] 0
    assert r["test_apcer_ap"] == 0.5
    assert r["test_apcer_pooled"] == pytest.approx(1 / 3) == r["test_far"]


def test_default_operating_points_and_names():
    assert pct_name(0.01) == "1pct" and pct_name(0.005) == "0.5pct" and pct_name(0.1) == "10pct"
    r = evaluate(DEVEL, TEST, level="frame")
    names = [k for k in r if "_at_" in k]
    assert len(names) == 3 * 3 + 3 * 3 + 3
    for rate in OPERATING_POINTS["apcer"]:
        assert {f"devel_bpcer_at_apcer_{pct_name(rate)}", f"test_bpcer_at_apcer_{pct_name(rate)}",
                f"test_apcer_at_apcer_{pct_name(rate)}"} <= set(names)
    assert {"test_tpr_at_fpr_1pct", "test_tpr_at_fpr_0.5pct", "test_tpr_at_fpr_0.1pct"} <= set(
        names)
    assert all(is_rate(k) for k in names + ["test_apcer_pooled"])


def test_unreachable_apcer_target_on_a_tiny_devel_set():
    # 8 devel attacks: the smallest non-zero APCER is 12.5%; 1% falls back to APCER 0
    devel = frames({**{f"a{i}": ("attack", "print", [float(i)]) for i in range(1, 9)},
                    **{f"b{i}": ("bonafide", "", [s]) for i, s in enumerate([5.0, 9, 10, 11])}})
    test = frames({"ta": ("attack", "print", [8.0]), "tb": ("bonafide", "", [8.5])})
    r = evaluate(devel, test, operating_points={"apcer": [0.01, 0.125]})
    # threshold just above 8: devel bona fide 5 rejected; test attack 8 rejected, 8.5 accepted
    assert (r["devel_bpcer_at_apcer_1pct"], r["test_bpcer_at_apcer_1pct"],
            r["test_apcer_at_apcer_1pct"]) == (0.25, 0.0, 0.0)
    # 12.5% is reachable: threshold 8 (FAR 1/8); the test attack at 8 is accepted
    assert r["devel_bpcer_at_apcer_12.5pct"] == 0.25 and r["test_apcer_at_apcer_12.5pct"] == 1.0


def test_operating_points_are_nan_when_a_class_is_missing():
    r = evaluate(DEVEL.assign(score=NAN), TEST)  # diverged: no devel scores
    points = {k: v for k, v in r.items() if "_at_" in k}
    assert all(math.isnan(v) for k, v in points.items() if "_at_fpr_" not in k)
    assert r["test_tpr_at_fpr_1pct"] == 0.5  # threshold-free: test scores exist
    no_test_attacks = TEST[TEST.label == "bonafide"]
    r = evaluate(DEVEL, no_test_attacks)
    assert r["devel_bpcer_at_apcer_1pct"] == 0.5 and r["devel_apcer_at_bpcer_1pct"] == 0.5
    for key in ("test_bpcer_at_apcer_1pct", "test_apcer_at_bpcer_1pct", "test_tpr_at_fpr_1pct",
                "test_apcer_pooled"):
        assert math.isnan(r[key]), key


def test_rate_names():
    r = evaluate(DEVEL, TEST)
    rates = {k for k in r if is_rate(k)}
    assert {"test_hter", "test_apcer_print", "test_acer", "devel_eer", "test_fta"} <= rates
    assert not rates & {"threshold", "test_auc", "test_f1", "test_n_attack", "level"}
    for k in rates:
        assert 0.0 <= r[k] <= 1.0, k


@pytest.mark.parametrize("kwargs, message", [
    ({"level": "clip"}, "unknown level 'clip'; allowed: video, frame"),
    ({"fusion": "mode"}, "unknown fusion 'mode'; allowed: mean, median, min, max"),
    ({"criterion": "auc"}, "unknown threshold criterion 'auc'"),
    ({"criterion": "far"}, "criterion 'far'"),
    ({"operating_points": {"apcer": [0.0]}}, r"evaluate\.operating_points\.apcer: rates must"),
    ({"operating_points": {"fpr": [0.01, 0.0100000001]}}, r"operating_points\.fpr: repeated"),
    ({"operating_points": {"far": [0.1]}}, r"evaluate\.operating_points: unknown kinds"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        evaluate(DEVEL, TEST, **kwargs)


def test_bad_tables_are_named():
    with pytest.raises(ValueError, match=r"test scores: missing columns \['score'\]"):
        evaluate(DEVEL, TEST.drop(columns="score"), level="frame")
    with pytest.raises(ValueError, match=r"devel scores: labels \['real'\]"):
        evaluate(DEVEL.replace({"label": {"bonafide": "real"}}), TEST, level="frame")
    with pytest.raises(ValueError, match=r"bona fide rows have an attack_type.*'t_b1'"):
        evaluate(DEVEL, TEST.replace({"attack_type": {"": "none"}}), level="frame")
    with pytest.raises(ValueError, match="column score is not numeric"):
        evaluate(DEVEL, TEST.assign(score="high"), level="frame")


def test_fuse_methods_and_nan():
    table = frames({"b": ("attack", "print", [1, 2, 6, NAN]), "a": ("bonafide", "", [NAN])})
    expected = {"mean": 3.0, "median": 2.0, "min": 1.0, "max": 6.0}
    for method, value in expected.items():
        out = fuse(table, method)
        assert list(out.columns) == ["video_id", "subject", "label", "attack_type", "score"]
        assert list(out.video_id) == ["a", "b"]
        assert math.isnan(out.score[0]) and out.score[1] == value
    assert list(fuse(table).attack_type) == ["", "print"]


def test_fuse_rejects_inconsistent_videos():
    table = frames({"v": ("attack", "print", [1, 2])})
    table.loc[1, "label"] = "bonafide"
    table.loc[1, "attack_type"] = ""
    with pytest.raises(ValueError, match=r"videos \['v'\]"):
        fuse(table)
    with pytest.raises(ValueError, match="fusion 'sum'"):
        fuse(frames({"v": ("attack", "print", [1])}), "sum")


def test_bob_csv_round_trip(tmp_path):
    table = TEST.assign(score=TEST.score / 3)  # floats that need full precision
    path = write_scores(table, tmp_path / "scores-dev.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "claimed_id,test_label,is_bonafide,attack_type,score,video_id,frame"
    assert lines[1].startswith("s_t_b1,t_b1,True,,3.0,t_b1,0")
    assert ",False,print," in lines[7] and any(",nan," in line for line in lines)
    back = read_bob_csv(path)
    assert list(back.columns) == ["video_id", "subject", "label", "attack_type", "frame", "score"]
    pd.testing.assert_frame_equal(back, table.astype({"frame": int}), check_dtype=False)
    same = pd.Series(evaluate(DEVEL, back)), pd.Series(evaluate(DEVEL, table))
    assert same[0].equals(same[1])


def test_bob_csv_video_level(tmp_path):
    videos = fuse(DEVEL)
    path = write_scores(videos, tmp_path / "v.csv")
    assert path.read_text().splitlines()[0] == \
        "claimed_id,test_label,is_bonafide,attack_type,score,video_id"
    back = read_bob_csv(path)
    pd.testing.assert_frame_equal(back, videos, check_dtype=False)

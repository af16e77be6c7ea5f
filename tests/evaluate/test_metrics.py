"""Error rates and thresholds: hand-computed cases and brute-force properties."""

import time
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biorepro.evaluate import metrics as M

# ---------------------------------------------------------------- brute-force references


def naive_rates(neg, pos, t):
    """Exact (FAR, FRR) by counting, score >= t accepted."""
    return (Fraction(sum(int(s >= t) for s in neg), len(neg)),
            Fraction(sum(int(s < t) for s in pos), len(pos)))


def brute_sweep(neg, pos):
    """Every candidate threshold (lowest score, midpoints, just above the highest) with its
    exact rates, each computed by counting at the threshold itself."""
    u = sorted(set(neg) | set(pos))
    thresholds = [u[0]] + [(a + b) / 2 for a, b in zip(u, u[1:])] + [np.nextafter(u[-1], np.inf)]
    return [(t, *naive_rates(neg, pos, t)) for t in thresholds]


def brute_minimizing(neg, pos, criterion):
    """bob.measure's selection rule written out over the candidate list: ties keep the
    highest candidate while FAR > 0 and FRR < 1; the first candidate with FAR = 0 or
    FRR = 1 wins only when strictly better."""
    cands = brute_sweep(neg, pos)
    pred = [abs(far - frr) if criterion == "eer" else (far + frr) / 2 for _, far, frr in cands]
    last = next(k for k, (_, far, frr) in enumerate(cands) if far == 0 or frr == 1)
    best = max(k for k in range(last) if pred[k] == min(pred[:last]))
    return cands[last if pred[last] < pred[best] else best][0]


# quarter-integer scores: midpoints are exact, so each candidate sits strictly between scores
quarters = st.integers(0, 16).map(lambda i: i / 4)
dyadic_sizes = st.sampled_from([1, 2, 4, 8, 16])


@st.composite
def dyadic_sets(draw):
    """Score sets whose sizes are powers of two: every rate is exact in float, so bob's
    incremental float rates equal the exact fractions and tie-breaking is fully defined."""
    n, p = draw(dyadic_sizes), draw(dyadic_sizes)
    return (draw(st.lists(quarters, min_size=n, max_size=n)),
            draw(st.lists(quarters, min_size=p, max_size=p)))


any_sets = st.tuples(st.lists(quarters, min_size=1, max_size=25),
                     st.lists(quarters, min_size=1, max_size=25))


@settings(max_examples=300, deadline=None)
@given(dyadic_sets(), st.sampled_from(["eer", "hter"]))
def test_minimizing_threshold_equals_brute_force_rule(sets, criterion):
    neg, pos = sets
    fn = M.eer_threshold if criterion == "eer" else M.min_hter_threshold
    assert fn(neg, pos) == brute_minimizing(neg, pos, criterion)


@settings(max_examples=300, deadline=None)
@given(any_sets, st.sampled_from(["eer", "hter"]))
def test_minimizing_threshold_is_optimal_over_all_candidates(sets, criterion):
    neg, pos = sets
    fn = M.eer_threshold if criterion == "eer" else M.min_hter_threshold
    t = fn(neg, pos)
    cost = (lambda far, frr: abs(far - frr)) if criterion == "eer" else (lambda far, frr: far + frr)
    best = min(cost(far, frr) for _, far, frr in brute_sweep(neg, pos))
    assert float(cost(*naive_rates(neg, pos, t))) <= float(best) + 1e-12


@settings(max_examples=300, deadline=None)
@given(any_sets, st.floats(0, 1 - 1e-9))
def test_far_threshold_against_brute_force(sets, target):
    neg, pos = sets
    t = M.far_threshold(neg, pos, target)
    # rates are compared with the (float) target as floats, as bob.measure does
    far = float(naive_rates(neg, pos, t)[0])
    assert far <= target
    # no candidate threshold (midpoints, ends, the scores themselves) gets closer to the target
    candidates = [c for c, _, _ in brute_sweep(neg, pos)] + neg + pos
    assert all(not far < float(naive_rates(neg, pos, c)[0]) <= target for c in candidates)
    # and t is the highest threshold with that FAR: a negative score, or just above them all
    if far > 0:
        assert t in neg
    else:
        assert t == np.nextafter(max(neg), np.inf)


@settings(max_examples=300, deadline=None)
@given(any_sets, st.floats(0, 1 - 1e-9))
def test_frr_threshold_against_brute_force(sets, target):
    neg, pos = sets
    t = M.frr_threshold(neg, pos, target)
    # rates are compared with the (float) target as floats, as bob.measure does
    frr = float(naive_rates(neg, pos, t)[1])
    assert frr <= target
    candidates = [c for c, _, _ in brute_sweep(neg, pos)] + neg + pos
    assert all(not frr < float(naive_rates(neg, pos, c)[1]) <= target for c in candidates)
    # the highest such threshold: a positive score, and any higher one exceeds the target
    assert t in pos
    assert float(naive_rates(neg, pos, np.nextafter(t, np.inf))[1]) > target


@settings(max_examples=200, deadline=None)
@given(any_sets)
def test_auc_equals_pair_count(sets):
    neg, pos = sets
    pairs = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    assert M.roc_auc(neg, pos) == pytest.approx(pairs / (len(neg) * len(pos)), abs=1e-15)


@settings(max_examples=100, deadline=None)
@given(any_sets)
def test_det_curve_is_the_candidate_sweep(sets):
    neg, pos = sets
    thresholds, far, frr = M.det_curve(neg, pos)
    expected = brute_sweep(neg, pos)
    assert list(thresholds) == [t for t, _, _ in expected]
    assert list(far) == [float(f) for _, f, _ in expected]
    assert list(frr) == [float(f) for _, _, f in expected]


@settings(max_examples=300, deadline=None)
@given(any_sets, st.floats(1e-9, 1 - 1e-9))
def test_tpr_at_fpr_against_brute_force(sets, target):
    neg, pos = sets
    # every threshold that can matter: each score, and one above them all
    thresholds = sorted(set(neg) | set(pos)) + [np.inf]
    best = max(1 - naive_rates(neg, pos, t)[1] for t in thresholds
               if float(naive_rates(neg, pos, t)[0]) <= target)
    assert M.tpr_at_fpr(neg, pos, target) == float(best)


def test_tpr_at_fpr_on_random_scores_with_ties():
    rng = np.random.default_rng(7)
    neg = np.round(rng.normal(0.0, 1.0, 400), 1)  # rounded: many ties within and across
    pos = np.round(rng.normal(1.5, 1.0, 300), 1)
    for target in (0.01, 0.005, 0.001, 0.1):
        rates = [(np.mean(neg >= t), np.mean(pos >= t))
                 for t in np.concatenate([np.unique(np.r_[neg, pos]), [np.inf]])]
        assert M.tpr_at_fpr(neg, pos, target) == max(tpr for fpr, tpr in rates if fpr <= target)


# ---------------------------------------------------------------- hand-computed cases


def test_farfrr_accepts_score_equal_to_threshold():
    assert M.farfrr([0.0, 1.0, 2.0], [2.0, 3.0], 2.0) == (1 / 3, 0.0)
    assert M.farfrr([0.0, 1.0, 2.0], [2.0, 3.0], 2.5) == (0.0, 0.5)


def test_perfectly_separable():
    neg, pos = [0.0, 1.0], [2.0, 3.0]
    assert M.eer_threshold(neg, pos) == 1.5
    assert M.min_hter_threshold(neg, pos) == 1.5
    assert M.eer(neg, pos) == 0.0
    assert M.roc_auc(neg, pos) == 1.0


def test_all_scores_equal():
    neg, pos = [1.0, 1.0], [1.0, 1.0, 1.0]
    # only "accept all" and "reject all" exist; bob keeps the first (the score itself)
    assert M.eer_threshold(neg, pos) == 1.0
    assert M.min_hter_threshold(neg, pos) == 1.0
    assert M.farfrr(neg, pos, 1.0) == (1.0, 0.0)
    assert M.eer(neg, pos) == 0.5
    assert M.roc_auc(neg, pos) == 0.5


def test_ties_between_classes():
    neg, pos = [0.0, 1.0, 1.0, 2.0], [1.0, 1.0, 3.0, 4.0]
    # candidates (FAR, FRR): 0 (1, 0), 0.5 (.75, 0), 1.5 (.25, .5), 2.5 (0, .5),
    # 3.5 (0, .75), above (0, 1)
    assert M.eer_threshold(neg, pos) == 1.5
    assert M.eer(neg, pos) == pytest.approx(0.375)
    assert M.min_hter_threshold(neg, pos) == 2.5  # (0 + .5)/2 < (.25 + .5)/2
    assert M.roc_auc(neg, pos) == 12 / 16  # each 1.0: 1 win + 2 ties; 3.0, 4.0: 4 wins


def test_exhausted_class_candidate_must_be_strictly_better():
    # HTER is 0.25 at 0.5 and at 2.5; 2.5 is where FAR reaches 0, so bob keeps 0.5
    neg, pos = [0.0, 2.0], [1.0, 3.0]
    assert M.min_hter_threshold(neg, pos) == 0.5
    assert M.eer_threshold(neg, pos) == 1.5


def test_shared_maximum_does_not_give_a_spurious_threshold():
    # bob's float-accumulated rates at the end (FRR = 5 * (1/6) + 1/6 < 1) would make the
    # maximum score 0.25 look strictly better (real HTER 11/12); the sweep keeps 0.0 (1/2)
    neg, pos = [0.25], [0.0] * 5 + [0.25]
    assert M.min_hter_threshold(neg, pos) == 0.0
    assert sum(M.farfrr(neg, pos, 0.0)) / 2 == 0.5


def test_inverted_scores():
    neg, pos = [2.0, 3.0], [0.0, 1.0]
    assert M.eer_threshold(neg, pos) == 1.5
    assert M.eer(neg, pos) == 1.0
    assert M.roc_auc(neg, pos) == 0.0


def test_eer_is_mean_of_far_and_frr_not_one_of_them():
    neg, pos = [0.0, 1.0, 2.0], [1.5, 2.5, 3.0, 4.0]
    t = M.eer_threshold(neg, pos)
    far, frr = M.farfrr(neg, pos, t)
    assert far != frr
    assert M.eer(neg, pos) == (far + frr) / 2


def test_single_scores():
    assert M.eer_threshold([0.0], [1.0]) == 0.5
    assert M.far_threshold([0.0], [], 0.0) == np.nextafter(0.0, 1)
    assert M.frr_threshold([], [3.0], 0.0) == 3.0


def test_far_and_frr_threshold_special_targets():
    neg, pos = np.arange(10.0), np.arange(10.0, 20.0)
    assert M.far_threshold(neg, pos, 1.0) == np.nextafter(0.0, -1)
    assert M.far_threshold(neg, pos, 0.0) == np.nextafter(9.0, 10)
    assert M.far_threshold(neg, pos, 0.11) == 9.0
    assert M.frr_threshold(neg, pos, 1.0) == np.nextafter(19.0, 20)
    assert M.frr_threshold(neg, pos, 0.11) == 11.0
    # tied lowest positives: FRR is counted exactly (FRR(0.0) = 0 <= 0.1)
    assert M.frr_threshold([], [0.0, 0.0, 0.0, 1.0], 0.1) == 0.0
    with pytest.raises(ValueError, match="far_value"):
        M.far_threshold(neg, pos, 1.5)


def test_nan_and_fta():
    clean, n = M.remove_nan([1.0, np.nan, 2.0])
    assert list(clean) == [1.0, 2.0] and n == 1
    (neg, pos), count, rate = M.get_fta([np.nan, 0.0], [1.0, np.nan, np.nan, 2.0])
    assert list(neg) == [0.0] and list(pos) == [1.0, 2.0]
    assert count == 3 and rate == 0.5
    assert np.isnan(M.get_fta([], [])[2])
    with pytest.raises(ValueError, match="remove_nan"):
        M.eer_threshold([0.0, np.nan], [1.0])
    with pytest.raises(ValueError, match="infinite"):
        M.farfrr([0.0, np.inf], [1.0], 0.5)
    with pytest.raises(ValueError, match="positives: no scores"):
        M.eer([0.0], [])


def test_nan_threshold_gives_nan_rates():
    far, frr = M.farfrr([0.0], [1.0], float("nan"))
    assert np.isnan(far) and np.isnan(frr)


def test_apcer_bpcer_per_type():
    attacks = {"print": [0.1, 0.6], "replay": [0.2, 0.3, 0.4, 0.9]}
    rates = M.apcer_bpcer(attacks, [0.4, 0.7, 0.8, 0.95], 0.5)
    assert rates["apcer"] == {"print": 0.5, "replay": 0.25}
    assert rates["apcer_ap"] == 0.5
    assert rates["bpcer"] == 0.25
    assert rates["acer"] == 0.375


def test_pooled_apcer_differs_from_iso_apcer():
    attacks = {"print": [0.1, 0.2, 0.3, 0.4, 0.6, 0.7], "replay": [0.1, 0.8]}
    rates = M.apcer_bpcer(attacks, [0.9], 0.5)
    assert rates["apcer"] == {"print": 2 / 6, "replay": 0.5}
    assert rates["apcer_ap"] == 0.5  # ISO/IEC 30107-3: the worst attack type
    assert rates["apcer_pooled"] == 3 / 8  # all 8 attacks as one class
    assert rates["acer"] == (0.5 + 0.0) / 2  # ACER uses APCER_AP, never the pooled one
    assert np.isnan(M.apcer_bpcer(attacks, [0.9], float("nan"))["apcer_pooled"])


def test_apcer_threshold_per_type_and_unreachable_targets():
    attacks = {"a": [0.0, 1.0, 2.0, 3.0], "b": [5.0, 6.0, 7.0, 8.0]}
    pos = [4.0, 9.0]
    # a: FAR(3) = 1/4, b: FAR(8) = 1/4 -> the max over types; pooled FAR(7) = 2/8 would be 7
    assert M.apcer_threshold(attacks, pos, 0.25) == 8.0
    # 1% of 4 attacks cannot be hit: each type falls back to FAR 0, just above its maximum
    t = M.apcer_threshold(attacks, pos, 0.01)
    assert t == np.nextafter(8.0, np.inf)
    assert M.apcer_bpcer(attacks, pos, t)["apcer_ap"] == 0.0
    with pytest.raises(ValueError, match="no attack types"):
        M.apcer_threshold({}, pos, 0.1)


def test_tpr_at_fpr_hand_computed():
    neg, pos = [1.0, 2.0, 3.0, 4.0], [2.5, 3.5, 5.0]
    assert M.tpr_at_fpr(neg, pos, 0.25) == 2 / 3  # t = 3.5: FPR 1/4, TPR 2/3
    assert M.tpr_at_fpr(neg, pos, 0.2) == 1 / 3  # only FPR 0 fits: t in (4, 5]
    assert M.tpr_at_fpr(neg, pos, 0.5) == 1.0  # t = 2.5: FPR 2/4
    assert M.tpr_at_fpr([5.0], [1.0], 0.5) == 0.0  # only "reject all" has FPR <= 0.5
    with pytest.raises(ValueError, match="fpr must be a fraction"):
        M.tpr_at_fpr(neg, pos, 1.5)


def test_precision_recall_f1_accuracy():
    neg, pos = [0.1, 0.2, 0.6], [0.4, 0.7, 0.8, 0.9]
    p, r = M.precision_recall(neg, pos, 0.5)  # TP 3, FP 1, FN 1
    assert (p, r) == (0.75, 0.75)
    assert M.f_score(neg, pos, 0.5) == pytest.approx(0.75)
    assert M.accuracy(neg, pos, 0.5) == 5 / 7
    assert M.precision_recall(neg, pos, 2.0) == (0.0, 0.0)
    assert M.f_score(neg, pos, 2.0) == 0.0


def test_threshold_for_criteria():
    attacks = {"a": [0.0, 1.0, 2.0, 3.0], "b": [5.0, 6.0, 7.0, 8.0]}
    pos = [4.0, 9.0, 10.0]
    pooled = attacks["a"] + attacks["b"]
    assert M.threshold_for("eer", attacks, pos) == M.eer_threshold(pooled, pos)
    assert M.threshold_for("min-hter", pooled, pos) == M.min_hter_threshold(pooled, pos)
    assert M.threshold_for("far", attacks, pos, 0.25) == 7.0  # pooled FAR(7) = 2/8
    # "bpcer": APCER of every type at most the target -> max over types (b: FAR(8) = 1/4)
    t = M.threshold_for("bpcer", attacks, pos, 0.25)
    assert t == 8.0
    assert M.apcer_bpcer(attacks, pos, t)["apcer_ap"] <= 0.25
    assert M.apcer_bpcer(attacks, pos, 7.0)["apcer_ap"] > 0.25
    assert M.threshold_for("bpcer", pooled, pos, 0.25) == 7.0  # one type: same as "far"


@pytest.mark.parametrize("criterion, target, message", [
    ("roc", None, r"unknown threshold criterion 'roc'; allowed: eer, min-hter, far, bpcer"),
    ("far", None, r"criterion 'far'.*\[0, 1\]"),
    ("bpcer", 2.0, r"criterion 'bpcer'.*\[0, 1\]"),
    ("eer", 0.1, r"criterion 'eer' takes no target"),
])
def test_threshold_for_errors_name_the_criterion(criterion, target, message):
    with pytest.raises(ValueError, match=message):
        M.threshold_for(criterion, [0.0, 1.0], [2.0], target)


def test_million_scores_are_fast():
    rng = np.random.default_rng(0)
    neg, pos = rng.normal(0, 1, 1_000_000), rng.normal(2, 1, 1_000_000)
    start = time.perf_counter()
    t = M.eer_threshold(neg, pos)
    M.min_hter_threshold(neg, pos)
    M.far_threshold(neg, pos, 0.01)
    auc = M.roc_auc(neg, pos)
    assert time.perf_counter() - start < 10
    far, frr = M.farfrr(neg, pos, t)
    assert abs(far - frr) < 1e-3 and far == pytest.approx(0.1587, abs=2e-3)  # Phi(-1)
    assert auc == pytest.approx(0.9214, abs=2e-3)  # Phi(2 / sqrt 2)

"""Biometric error rates with the conventions of bob.measure (Idiap's reference toolkit).

Conventions shared by every function here:

- Higher score = more likely bona fide (genuine). ``positives`` are bona fide scores,
  ``negatives`` are attack (impostor) scores.
- At threshold ``t`` a score ``s`` is accepted when ``s >= t``. FAR (= APCER for attacks)
  is the fraction of negatives with ``s >= t``; FRR (= BPCER) the fraction of positives
  with ``s < t``. All rates are fractions in [0, 1], never percentages.
- Score arrays are 1-D, finite, without NaN. Drop NaN first with :func:`remove_nan` /
  :func:`get_fta` and report them as failure-to-acquire (FTA); infinite scores are
  rejected with an error.
- Thresholds are chosen by sweeping the candidates of :func:`candidate_thresholds`;
  nothing is interpolated.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

CRITERIA = ("eer", "min-hter", "far", "bpcer")
_EPS = np.finfo(np.float64).eps


def _scores(values, name: str) -> np.ndarray:
    """``values`` as a 1-D float64 array; errors name the bad argument."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of scores, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: no scores given")
    bad = ~np.isfinite(arr)
    if bad.any():
        n_nan = int(np.isnan(arr).sum())
        raise ValueError(
            f"{name}: {n_nan} NaN and {int(bad.sum()) - n_nan} infinite scores; "
            "drop NaN with remove_nan() (they count as FTA) and replace infinite scores"
        )
    return arr


def remove_nan(scores) -> tuple[np.ndarray, int]:
    """Return ``(scores without NaN, number of NaN)``."""
    arr = np.asarray(scores, dtype=np.float64).ravel()
    nan = np.isnan(arr)
    return arr[~nan], int(nan.sum())


def get_fta(negatives, positives) -> tuple[tuple[np.ndarray, np.ndarray], int, float]:
    """Drop NaN from both classes: ``((negatives, positives), fta_count, fta_rate)``.

    As bob.measure's ``get_fta``: the failure-to-acquire rate is the number of NaN
    scores over the total number of scores of both classes (NaN when there are none).
    """
    neg, n_neg_nan = remove_nan(negatives)
    pos, n_pos_nan = remove_nan(positives)
    count = n_neg_nan + n_pos_nan
    total = neg.size + pos.size + count
    return (neg, pos), count, (count / total if total else float("nan"))


def _errors(negatives, positives, threshold: float) -> tuple[int, int, int, int]:
    """``(false accepts, N, false rejects, P)`` at ``threshold``, as integers."""
    neg = _scores(negatives, "negatives")
    pos = _scores(positives, "positives")
    return (int(np.count_nonzero(neg >= threshold)), neg.size,
            int(np.count_nonzero(pos < threshold)), pos.size)


def farfrr(negatives, positives, threshold: float) -> tuple[float, float]:
    """``(FAR, FRR)`` at ``threshold``: FAR = mean(negatives >= t), FRR = mean(positives < t).

    A NaN threshold (no threshold could be chosen) gives ``(nan, nan)``; bob.measure
    prints an error and returns ``(1.0, 1.0)`` instead.
    """
    fa, n, fr, p = _errors(negatives, positives, threshold)
    if np.isnan(threshold):
        return float("nan"), float("nan")
    return fa / n, fr / p


def candidate_thresholds(negatives, positives) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All thresholds the sweep considers, ascending, with the error counts at each.

    With ``u`` the distinct values of the merged scores (ascending, ``m`` of them) the
    candidates are ``u[0]`` (everything accepted: FAR = 1, FRR = 0), the midpoints
    ``(u[k-1] + u[k]) / 2`` and ``nextafter(u[-1], +inf)`` (everything rejected:
    FAR = 0, FRR = 1), as in bob.measure. Returns ``(thresholds, false_accepts,
    false_rejects)``, each of length ``m + 1``; the counts are integers.
    """
    neg = np.sort(_scores(negatives, "negatives"))
    pos = np.sort(_scores(positives, "positives"))
    u = np.unique(np.concatenate([neg, pos]))
    thresholds = np.empty(u.size + 1)
    thresholds[0] = u[0]
    thresholds[1:-1] = (u[:-1] + u[1:]) / 2
    thresholds[-1] = np.nextafter(u[-1], np.inf)
    # candidate k (k >= 1) rejects every score <= u[k-1]
    false_accepts = np.concatenate([[neg.size], neg.size - np.searchsorted(neg, u, "right")])
    false_rejects = np.concatenate([[0], np.searchsorted(pos, u, "right")])
    return thresholds, false_accepts, false_rejects


def _minimizing_threshold(negatives, positives, criterion: str) -> float:
    """Threshold minimising ``|FAR - FRR|`` ("eer") or ``(FAR + FRR) / 2`` ("hter").

    Reproduces bob.measure's sweep: rates along the sweep are accumulated as bob does
    (sequential float steps of 1/N and 1/P, so near-ties resolve as in bob). Among the
    candidates with FAR > 0 and FRR < 1 a tie keeps the highest threshold; the first
    candidate with FAR = 0 or FRR = 1 replaces the best earlier one only when strictly
    better; later candidates are never better. One deliberate difference: the
    all-rejected candidate always has the exact rates (0, 1). bob instead uses its
    accumulated rates there when both classes share the maximum score, and float
    round-off can then make it return that maximum score as a "strictly better"
    threshold whose real rates are much worse (only possible when no threshold beats
    chance).
    """
    thresholds, fa, fr = candidate_thresholds(negatives, positives)
    n_neg, n_pos = int(fa[0]), int(fr[-1])
    far = np.cumsum(np.concatenate([[1.0], np.full(n_neg, -1.0 / n_neg)]))[n_neg - fa]
    frr = np.cumsum(np.concatenate([[0.0], np.full(n_pos, 1.0 / n_pos)]))[fr]
    far[-1], frr[-1] = 0.0, 1.0
    pred = np.abs(far - frr) if criterion == "eer" else 0.5 * far + 0.5 * frr
    last = int(np.flatnonzero((fa == 0) | (fr == n_pos))[0])  # >= 1: both classes non-empty
    inner = pred[:last]
    best = last - 1 - int(np.argmin(inner[::-1]))  # highest index among ties
    return float(thresholds[last] if pred[last] < inner[best] else thresholds[best])


def eer_threshold(negatives, positives) -> float:
    """Threshold where FAR and FRR are closest (bob.measure ``eer_threshold``).

    Minimises ``|FAR - FRR|`` over :func:`candidate_thresholds`; ties keep the highest
    threshold (see :func:`_minimizing_threshold` for bob's exact tie handling).
    """
    return _minimizing_threshold(negatives, positives, "eer")


def min_hter_threshold(negatives, positives) -> float:
    """Threshold minimising ``(FAR + FRR) / 2`` (bob.measure ``min_hter_threshold``)."""
    return _minimizing_threshold(negatives, positives, "hter")


def eer(negatives, positives) -> float:
    """Equal error rate: ``(FAR + FRR) / 2`` at :func:`eer_threshold` (as bob.measure ``eer``)."""
    far, frr = farfrr(negatives, positives, eer_threshold(negatives, positives))
    return (far + frr) / 2


def _check_target(value: float, name: str) -> float:
    if value is None or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}")
    return float(value)


def far_threshold(negatives, positives, far_value: float) -> float:
    """Threshold whose real FAR on ``negatives`` is at most ``far_value`` (bob.measure).

    Returns the lowest negative score ``t`` with ``FAR(t) <= far_value`` (the highest
    threshold giving that FAR); ``nextafter(max(negatives), +inf)`` (FAR = 0) when even
    the highest negative score exceeds the target, and ``nextafter(min(negatives), -inf)``
    when ``far_value >= 1 - eps``. ``positives`` is ignored (kept for bob's signature).
    bob.measure requires at least 2 negatives; one is accepted here.
    """
    far_value = _check_target(far_value, "far_value")
    neg = np.sort(_scores(negatives, "negatives"))
    if far_value >= 1 - _EPS:
        return float(np.nextafter(neg[0], -np.inf))
    u = np.unique(neg)
    ok = (neg.size - np.searchsorted(neg, u, "left")) / neg.size <= far_value
    if not ok.any():
        return float(np.nextafter(neg[-1], np.inf))
    return float(u[np.argmax(ok)])  # FAR decreases with u: ok is a suffix


def frr_threshold(negatives, positives, frr_value: float) -> float:
    """Threshold whose real FRR on ``positives`` is at most ``frr_value`` (bob.measure).

    Returns the highest positive score ``t`` with ``FRR(t) <= frr_value`` (the lowest
    FAR among such thresholds); ``nextafter(max(positives), +inf)`` (FRR = 1) when
    ``frr_value >= 1 - eps``. ``negatives`` is ignored. Identical to bob.measure when
    positives have no ties; with tied positives bob counts part of the tie group as
    rejected and can return a lower threshold, or one whose FRR exceeds the target,
    contrary to its own contract; here FRR is counted exactly. One positive suffices.
    """
    frr_value = _check_target(frr_value, "frr_value")
    pos = np.sort(_scores(positives, "positives"))
    if frr_value >= 1 - _EPS:
        return float(np.nextafter(pos[-1], np.inf))
    u = np.unique(pos)
    ok = np.searchsorted(pos, u, "left") / pos.size <= frr_value
    return float(u[np.flatnonzero(ok)[-1]])  # FRR grows with u; ok[0] holds (FRR = 0)


def check_criterion(criterion: str, target: float | None = None) -> None:
    """Raise ValueError unless ``criterion`` is known and ``target`` fits it."""
    if criterion not in CRITERIA:
        raise ValueError(f"unknown threshold criterion {criterion!r}; "
                         f"allowed: {', '.join(CRITERIA)}")
    if criterion in ("far", "bpcer"):
        _check_target(target, f"target of criterion {criterion!r}")
    elif target is not None:
        raise ValueError(f"criterion {criterion!r} takes no target (got {target!r}); "
                         "targets apply to 'far' and 'bpcer'")


def threshold_for(criterion: str, negatives, positives, target: float | None = None) -> float:
    """Threshold on one score set (devel) for a named criterion.

    ``negatives`` is an array of attack scores or a mapping attack type -> scores
    (pooled for every criterion but "bpcer"). Criteria:

    - "eer": :func:`eer_threshold`; "min-hter": :func:`min_hter_threshold`;
    - "far": :func:`far_threshold` on the pooled attacks, FAR at most ``target``;
    - "bpcer": the threshold at which the APCER (max over attack types) is at most
      ``target``, i.e. the maximum over types of :func:`far_threshold` — bob.pad.base's
      "bpcerN" criterion with ``target = 1/N`` (BPCER20: ``target=0.05``). With one attack
      type (or an array) it equals "far".
    """
    check_criterion(criterion, target)
    by_type = dict(negatives) if isinstance(negatives, Mapping) else {"attack": negatives}
    if not by_type:
        raise ValueError("negatives: no attack types given")
    if criterion == "bpcer":
        return apcer_threshold(by_type, positives, target)
    pooled = np.concatenate([np.asarray(s, dtype=np.float64).ravel() for s in by_type.values()])
    if criterion == "far":
        return far_threshold(pooled, positives, target)
    if criterion == "eer":
        return eer_threshold(pooled, positives)
    return min_hter_threshold(pooled, positives)


def apcer_bpcer(attack_scores_by_type: Mapping[str, object], bonafide, threshold: float) -> dict:
    """ISO/IEC 30107-3 rates at ``threshold`` (as bob.pad.base ``apcer_bpcer``), plus the
    pooled APCER.

    Returns ``{"apcer": {type: APCER}, "apcer_ap": max APCER over types,
    "apcer_pooled": APCER of all attacks as one class, "bpcer": BPCER,
    "acer": (APCER_AP + BPCER) / 2}``; APCER of a type is the FAR of its scores, BPCER the
    FRR of ``bonafide``. ``apcer_ap`` is the ISO/IEC 30107-3 APCER (what ACER uses);
    ``apcer_pooled`` (= FAR on the pooled attacks) is what many deep-learning codebases
    call APCER, and is at most ``apcer_ap``.
    """
    if not attack_scores_by_type:
        raise ValueError("attack_scores_by_type: no attack types given")
    apcer, bpcer = {}, float("nan")
    for name, scores in attack_scores_by_type.items():
        apcer[name], bpcer = farfrr(_scores(scores, f"attack type {name!r}"), bonafide, threshold)
    pooled = np.concatenate([_scores(s, "attacks") for s in attack_scores_by_type.values()])
    apcer_pooled = farfrr(pooled, bonafide, threshold)[0]
    apcer_ap = max(apcer.values()) if not np.isnan(threshold) else float("nan")
    return {"apcer": apcer, "apcer_ap": apcer_ap, "apcer_pooled": apcer_pooled, "bpcer": bpcer,
            "acer": (apcer_ap + bpcer) / 2}


def apcer_threshold(attack_scores_by_type: Mapping[str, object], bonafide, apcer: float) -> float:
    """Threshold at which the APCER (ISO/IEC 30107-3: max over attack types) is at most
    ``apcer``: the maximum over types of :func:`far_threshold`.

    bob.pad.base's ``apcer_threshold`` (its "bpcerN" criterion, ``apcer = 1/N``) does the
    same: each type's own attacks, not the pooled ones. A target below ``1 / n`` (``n``
    attacks of a type) still gives a threshold: FAR 0 is always reachable.
    """
    if not attack_scores_by_type:
        raise ValueError("attack_scores_by_type: no attack types given")
    return max(far_threshold(s, bonafide, apcer) for s in attack_scores_by_type.values())


def precision_recall(negatives, positives, threshold: float) -> tuple[float, float]:
    """``(precision, recall)`` with bona fide as the positive class (as bob.measure).

    precision = TP / (TP + FP), 0 when nothing is accepted; recall = TP / P = 1 - FRR.
    """
    fa, _, fr, p = _errors(negatives, positives, threshold)
    tp = p - fr
    return (tp / (tp + fa) if tp + fa else 0.0), tp / p


def f_score(negatives, positives, threshold: float) -> float:
    """F1 = harmonic mean of :func:`precision_recall` (0 when both are 0, as bob.measure)."""
    p, r = precision_recall(negatives, positives, threshold)
    return 2 * p * r / (p + r) if p + r else 0.0


def accuracy(negatives, positives, threshold: float) -> float:
    """Fraction of all scores classified correctly (attacks rejected, bona fide accepted)."""
    fa, n, fr, p = _errors(negatives, positives, threshold)
    return (n - fa + p - fr) / (n + p)


def roc_auc(negatives, positives) -> float:
    """Area under the ROC curve from the scores themselves (Mann-Whitney U / (N P)).

    AUC = P(positive > negative) + P(positive == negative) / 2, counted exactly over all
    pairs (bob.measure's ``roc_auc_score`` integrates a sampled ROC instead).
    """
    neg = np.sort(_scores(negatives, "negatives"))
    pos = _scores(positives, "positives")
    below = np.searchsorted(neg, pos, "left").sum(dtype=np.int64)
    equal = np.searchsorted(neg, pos, "right").sum(dtype=np.int64) - below
    return float((2 * below + equal) / (2 * neg.size * pos.size))


def tpr_at_fpr(negatives, positives, fpr: float) -> float:
    """A point of the ROC curve: the largest TPR among thresholds whose FPR is at most ``fpr``.

    TPR is the fraction of bona fide scores accepted (1 - FRR), FPR the fraction of attack
    scores accepted (FAR, attacks pooled). Threshold-free like :func:`roc_auc`: the sweep
    covers every candidate of :func:`candidate_thresholds` (together they reach every
    (FAR, FRR) pair any threshold gives), including the all-rejected one (FPR = TPR = 0),
    so a value always exists; nothing is interpolated.
    """
    fpr = _check_target(fpr, "fpr")
    _, fa, fr = candidate_thresholds(negatives, positives)
    n_pos = int(fr[-1])
    return float((n_pos - fr[fa / fa[0] <= fpr].min()) / n_pos)


def det_curve(negatives, positives) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DET points over every candidate threshold: ``(thresholds, far, frr)``, ascending.

    FAR decreases from 1 to 0 and FRR increases from 0 to 1; plot on normal-deviate axes.
    """
    thresholds, fa, fr = candidate_thresholds(negatives, positives)
    return thresholds, fa / fa[0], fr / fr[-1]

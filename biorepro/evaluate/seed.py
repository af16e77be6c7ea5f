"""Evaluate one model's scores: threshold chosen on devel, error rates on test.

Units: every rate (EER, HTER, FAR, FRR, APCER, BPCER, ACER, FTA, accuracy, precision,
recall) is a fraction in [0, 1]; AUC and F1 are in [0, 1]; ``threshold`` is in score
units; ``*_n_*`` are counts of scored (non-NaN) samples. Metric names state the split
(``devel_``/``test_``) and the result states the level (``"video"``: frame scores fused
per video first; ``"frame"``: every frame is a sample).

NaN scores are dropped from every rate and reported as failure-to-acquire
(``devel_fta``, ``test_fta``: NaN samples / all samples of the split at that level).
When a split lacks scored samples of either class (e.g. a diverged run with all-NaN
scores), its threshold-based rates and AUC are NaN (and, for devel, the threshold and
every test rate at it); no exception is raised.

Two APCERs at the devel threshold: ``test_apcer_ap`` is ISO/IEC 30107-3's (max over attack
types; ACER uses it), ``test_apcer_pooled`` counts all attacks as one class (what many
deep-learning codebases report; equal to ``test_far``).

Operating points (``evaluate.operating_points``), each threshold chosen on devel:

- ``<split>_bpcer_at_apcer_<a>pct``: BPCER where devel's APCER (ISO/IEC 30107-3, max over
  attack types, as bob.pad.base's "bpcerN" criterion) is at most ``a`` %
  (:func:`~biorepro.evaluate.metrics.apcer_threshold`); ``test_apcer_at_apcer_<a>pct`` is
  the test APCER (max over types) reached at that threshold.
- ``<split>_apcer_at_bpcer_<b>pct``: APCER (max over types) where devel's BPCER is at most
  ``b`` % (:func:`~biorepro.evaluate.metrics.frr_threshold`, bob.pad.base's "apcerN");
  ``test_bpcer_at_bpcer_<b>pct`` is the test BPCER reached there.
- ``test_tpr_at_fpr_<f>pct``: threshold-free point of the test ROC curve
  (:func:`~biorepro.evaluate.metrics.tpr_at_fpr`; attacks pooled).

``<a>`` etc. are the targets in percent (``0.5pct`` = 0.005). A target below what a small
devel set can resolve still gives a threshold (the one with devel APCER 0 or BPCER 0).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from biorepro.evaluate import metrics
from biorepro.evaluate.fusion import FUSIONS, check_scores, fuse
from biorepro.store.layouts import TRAIN

LEVELS = ("video", "frame")
# evaluate.operating_points: target rates of each kind (the config's defaults)
OPERATING_POINTS = {"apcer": (0.01, 0.05, 0.1), "bpcer": (0.01, 0.05, 0.1),
                    "fpr": (0.01, 0.005, 0.001)}
_OP_KEY = "evaluate.operating_points"
_OP_NAME = re.compile(r"(devel|test)_(apcer|bpcer|tpr)_at_(apcer|bpcer|fpr)_([0-9.e+-]+)pct")


def read_frame_scores(train_entry: str | Path, split: str) -> pd.DataFrame:
    """The frame scores of ``split`` in a train entry (ids and attack types as text)."""
    return pd.read_csv(Path(train_entry) / TRAIN.scores(split=split), keep_default_na=False,
                       na_values=["", "nan", "NaN"],
                       dtype={"attack_type": str, "subject": str, "video_id": str})


def operating_point(metric: str) -> tuple | None:
    """Sort key of an operating-point metric (target kind, target, devel before test, the
    rate reached last); None for any other metric."""
    m = _OP_NAME.fullmatch(metric)
    if m is None:
        return None
    split, measured, kind, pct = m.groups()
    return list(OPERATING_POINTS).index(kind), float(pct), split == "test", measured == kind


def scores_at_level(frame_scores: pd.DataFrame, level: str, fusion: str, name: str) -> pd.DataFrame:
    """The samples evaluated at ``level``: fused videos or the (validated) frames."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; allowed: {', '.join(LEVELS)}")
    if fusion not in FUSIONS:
        raise ValueError(f"unknown fusion {fusion!r}; allowed: {', '.join(FUSIONS)}")
    return fuse(frame_scores, fusion) if level == "video" else check_scores(frame_scores, name)


def split_classes(samples: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
    """``(attack scores by type (sorted), bona fide scores, number of NaN)``, NaN dropped."""
    attacks = {}
    for kind, group in samples[samples["label"] == "attack"].groupby("attack_type", sort=True):
        attacks[kind] = metrics.remove_nan(group["score"])[0]
    bonafide = metrics.remove_nan(samples.loc[samples["label"] == "bonafide", "score"])[0]
    n_nan = int(samples["score"].isna().sum())
    return attacks, bonafide, n_nan


def _pooled(attacks: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([np.zeros(0), *attacks.values()])


def _split_metrics(prefix: str, samples: pd.DataFrame, threshold: float, *, full: bool) -> dict:
    """Counts, FTA and FAR/FRR/HTER at ``threshold`` of one split; with ``full`` also the
    ISO/IEC 30107-3 rates, AUC, accuracy, precision, recall and F1."""
    attacks, bonafide, n_nan = split_classes(samples)
    negatives = _pooled(attacks)
    nan = float("nan")
    out = {
        f"{prefix}_n_bonafide": bonafide.size,
        f"{prefix}_n_attack": negatives.size,
        f"{prefix}_fta": n_nan / len(samples) if len(samples) else nan,
    }
    usable = negatives.size > 0 and bonafide.size > 0
    at_threshold = usable and not np.isnan(threshold)
    far, frr = metrics.farfrr(negatives, bonafide, threshold) if at_threshold else (nan, nan)
    out.update({f"{prefix}_far": far, f"{prefix}_frr": frr, f"{prefix}_hter": (far + frr) / 2})
    if not full:
        return out
    if at_threshold:
        pad = metrics.apcer_bpcer({k: v for k, v in attacks.items() if v.size}, bonafide, threshold)
        precision, recall = metrics.precision_recall(negatives, bonafide, threshold)
        extra = {
            "accuracy": metrics.accuracy(negatives, bonafide, threshold),
            "precision": precision,
            "recall": recall,
            "f1": metrics.f_score(negatives, bonafide, threshold),
        }
    else:
        pad = {"apcer": {}, "apcer_ap": nan, "apcer_pooled": nan, "bpcer": nan, "acer": nan}
        extra = dict.fromkeys(("accuracy", "precision", "recall", "f1"), nan)
    for kind in attacks:
        out[f"{prefix}_apcer_{kind}"] = pad["apcer"].get(kind, nan)
    out.update({f"{prefix}_{key}": pad[key]
                for key in ("apcer_ap", "apcer_pooled", "bpcer", "acer")})
    out[f"{prefix}_auc"] = metrics.roc_auc(negatives, bonafide) if usable else nan
    out.update({f"{prefix}_{key}": value for key, value in extra.items()})
    return out


def pct_name(rate: float) -> str:
    """A target rate as it appears in metric names: 0.01 -> ``1pct``, 0.005 -> ``0.5pct``."""
    return f"{100 * rate:.6g}pct"


def check_operating_points(points: Mapping | None) -> dict[str, tuple[float, ...]]:
    """``evaluate.operating_points`` validated, kinds left out taking :data:`OPERATING_POINTS`."""
    points = {**OPERATING_POINTS, **(points or {})}
    unknown = sorted(set(points) - set(OPERATING_POINTS))
    if unknown:
        raise ValueError(f"{_OP_KEY}: unknown kinds {unknown}; allowed: "
                         f"{', '.join(OPERATING_POINTS)}")
    out = {}
    for kind, rates in points.items():
        rates = tuple(float(r) for r in rates)
        if not all(0.0 < r < 1.0 for r in rates):
            raise ValueError(f"{_OP_KEY}.{kind}: rates must lie in (0, 1), got {list(rates)}")
        if len({pct_name(r) for r in rates}) < len(rates):
            raise ValueError(f"{_OP_KEY}.{kind}: repeated rates in {list(rates)}")
        out[kind] = rates
    return out


def _pad_rates(attacks: dict, bonafide: np.ndarray, threshold: float) -> tuple[float, float]:
    """``(APCER max over types, BPCER)`` at ``threshold``; NaN when a class is missing."""
    if not attacks or not bonafide.size or np.isnan(threshold):
        return float("nan"), float("nan")
    pad = metrics.apcer_bpcer(attacks, bonafide, threshold)
    return pad["apcer_ap"], pad["bpcer"]


def _operating_points(devel: pd.DataFrame, test: pd.DataFrame, points: dict) -> dict:
    """The operating-point metrics (see the module docstring), in config order."""
    d_att, d_bf, _ = split_classes(devel)
    t_att, t_bf, _ = split_classes(test)
    d_att, t_att = ({k: v for k, v in a.items() if v.size} for a in (d_att, t_att))
    devel_ok = bool(d_att) and d_bf.size > 0
    nan, out = float("nan"), {}
    for rate in points["apcer"]:
        t = metrics.apcer_threshold(d_att, d_bf, rate) if devel_ok else nan
        (_, d_bpcer), (t_apcer, t_bpcer) = _pad_rates(d_att, d_bf, t), _pad_rates(t_att, t_bf, t)
        at = f"at_apcer_{pct_name(rate)}"
        out.update({f"devel_bpcer_{at}": d_bpcer, f"test_bpcer_{at}": t_bpcer,
                    f"test_apcer_{at}": t_apcer})
    for rate in points["bpcer"]:
        t = metrics.frr_threshold(_pooled(d_att), d_bf, rate) if devel_ok else nan
        (d_apcer, _), (t_apcer, t_bpcer) = _pad_rates(d_att, d_bf, t), _pad_rates(t_att, t_bf, t)
        at = f"at_bpcer_{pct_name(rate)}"
        out.update({f"devel_apcer_{at}": d_apcer, f"test_apcer_{at}": t_apcer,
                    f"test_bpcer_{at}": t_bpcer})
    for rate in points["fpr"]:
        out[f"test_tpr_at_fpr_{pct_name(rate)}"] = (
            metrics.tpr_at_fpr(_pooled(t_att), t_bf, rate) if t_att and t_bf.size else nan)
    return out


def evaluate(
    devel_df: pd.DataFrame,
    test_df: pd.DataFrame,
    *,
    level: str = "video",
    fusion: str = "mean",
    criterion: str = "eer",
    target: float | None = None,
    operating_points: Mapping | None = None,
) -> dict:
    """Choose the threshold on devel with ``criterion`` and report test error rates.

    Inputs are frame-level score tables (see :mod:`biorepro.evaluate.fusion`). Returns a flat dict:
    ``level``, ``fusion`` (``"none"`` at frame level), ``criterion``, ``target`` (NaN when
    unused); ``devel_n_bonafide``, ``devel_n_attack``, ``devel_fta``, ``devel_eer``,
    ``threshold``, ``devel_far``/``devel_frr``/``devel_hter`` at that threshold; the same
    counts, FTA and rates for test plus ``test_apcer_<attack type>`` (one per type in
    test), ``test_apcer_ap`` (max over types), ``test_bpcer``, ``test_acer``,
    ``test_auc`` (threshold-free), ``test_accuracy``, ``test_precision``,
    ``test_recall``, ``test_f1`` (bona fide = positive class, at the threshold);
    ``test_apcer_pooled`` (all attacks as one class, beside ISO/IEC 30107-3's
    ``test_apcer_ap``); then the operating points at the target rates of
    ``operating_points`` (``evaluate.operating_points``; None: :data:`OPERATING_POINTS`),
    named as in the module docstring.
    """
    devel = scores_at_level(devel_df, level, fusion, "devel scores")
    test = scores_at_level(test_df, level, fusion, "test scores")
    metrics.check_criterion(criterion, target)
    points = check_operating_points(operating_points)
    attacks, bonafide, _ = split_classes(devel)
    attacks = {k: v for k, v in attacks.items() if v.size}
    nan = float("nan")
    if attacks and bonafide.size:
        threshold = metrics.threshold_for(criterion, attacks, bonafide, target)
        devel_eer = metrics.eer(_pooled(attacks), bonafide)
    else:
        threshold = devel_eer = nan
    result = {
        "level": level,
        "fusion": fusion if level == "video" else "none",
        "criterion": criterion,
        "target": nan if target is None else float(target),
    }
    result.update(_split_metrics("devel", devel, threshold, full=False))
    result["devel_eer"] = devel_eer
    result["threshold"] = threshold
    result.update(_split_metrics("test", test, threshold, full=True))
    result.update(_operating_points(devel, test, points))
    return result

"""Intervals of a test metric that cover test-set sampling as well as training randomness.

The seed summaries (:mod:`biorepro.aggregate.stats`) resample training seeds only: the test
set is fixed, so its own sampling error is in none of their numbers. Here the runs of one
experiment at one evaluation level (one per training seed, each with its devel threshold)
are bootstrapped hierarchically. A replicate

1. draws the test subjects with replacement; a drawn subject brings all its videos, and a
   video all its frames (frames of a video, and videos of a subject, are correlated);
2. only with ``resample_videos``: within each drawn subject, draws its videos with
   replacement, separately for each (label, attack type), so the subject keeps its
   composition;
3. draws the runs with replacement; every run of the replicate is scored on the same
   resampled test set (the runs share one test set), each at its own threshold.

Step 2 is off by default: the spread of the subjects drawn in step 1 already contains the
spread of their videos, and resampling the videos again counts it twice (the two-stage
bootstrap overstates the variance; Davison & Hinkley 1997, section 3.8). In the coverage
simulation of the tests (15 subjects) its standard error is about 25 % too large and its 95 %
intervals cover the truth 99 % of the time; resampling subjects alone gives 95 %. A test set
of one subject gives no spread.

The statistic of a replicate is the mean over its runs of the metric. Three intervals are
reported side by side: ``training`` (runs resampled, test set fixed: the seeds-only
bootstrap), ``test`` (test set resampled, the mean over all runs) and ``both`` (the
hierarchy above); ``test`` and ``both`` use the same test resamples, ``training`` and
``both`` the same run draws. ``test_share`` is ``test_se**2 / (test_se**2 + training_se**2)``,
the part of the spread that a bigger test set (rather than more seeds) would reduce.

Rates follow :mod:`biorepro.evaluate.metrics` (bob.measure): a sample is accepted when
``score >= threshold``; FAR is the fraction of attacks accepted (all types pooled), FRR
(= BPCER) the fraction of bona fide rejected, HTER = (FAR + FRR) / 2; APCER of an attack
type is the FAR of its samples, APCER_AP the maximum over the types with scored samples,
ACER = (APCER_AP + BPCER) / 2. NaN scores are dropped from every rate (failure to acquire).
On the unresampled test set these are the values of
:func:`biorepro.evaluate.seed.evaluate`. A replicate in which a rate has no scored samples
(e.g. no bona fide drawn) leaves that rate, and the metrics built on it, undefined: such
replicates are excluded from the intervals and counted. Intervals are percentile intervals
(numpy's default linear quantiles) from ``numpy.random.default_rng(seed)``; ``*_se`` is the
standard deviation of the defined replicate statistics (``ddof=1``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from biorepro.aggregate.stats import DDOF, _check_ci
from biorepro.evaluate.fusion import META_COLUMNS, check_scores, fuse

METRICS = ("test_hter", "test_far", "test_frr", "test_apcer_ap", "test_bpcer", "test_acer")
INTERVALS = ("training", "test", "both")
COLUMNS = ("metric", "n_runs", "n_subjects", "n_videos", "mean",
           *(f"{kind}_{key}" for kind in INTERVALS for key in ("low", "high", "se")),
           "test_share", "n_boot", *(f"{kind}_undefined" for kind in INTERVALS))


def video_counts(samples: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """One row per video (sorted by video_id): ``video_id, subject, label, attack_type,
    n_scored, n_errors``.

    ``samples`` has the columns ``video_id, subject, label, attack_type, score`` (one row
    per frame or per fused video); a bona fide row's attack type is ignored (set to ``""``).
    ``n_scored`` counts the samples with a score (NaN is a failure to acquire),
    ``n_errors`` the attacks accepted (``score >= threshold``) or the bona fide rejected
    (``score < threshold``).
    """
    if np.isnan(threshold):
        raise ValueError("threshold is NaN (a diverged run has none); leave the run out")
    samples = samples.copy()
    samples.loc[samples["label"] == "bonafide", "attack_type"] = ""
    samples = check_scores(samples, "test samples")
    videos = fuse(samples)[list(META_COLUMNS)]  # validates one subject/label/type per video
    score = samples["score"]
    accepted = (score >= threshold).groupby(samples["video_id"], sort=True).sum().to_numpy()
    videos["n_scored"] = score.notna().groupby(samples["video_id"], sort=True).sum().to_numpy()
    videos["n_errors"] = np.where(videos["label"] == "attack", accepted,
                                  videos["n_scored"] - accepted)
    return videos


def _test_weights(videos: pd.DataFrame, n_boot: int, rng: np.random.Generator,
                  resample_videos: bool) -> np.ndarray:
    """``(n_boot, n_videos)`` counts of how often each video is drawn (steps 1 and 2)."""
    subjects, subject_of = np.unique(videos["subject"].to_numpy(), return_inverse=True)
    n = subjects.size
    drawn = rng.integers(0, n, size=(n_boot, n)) + n * np.arange(n_boot)[:, None]
    times = np.bincount(drawn.ravel(), minlength=n_boot * n).reshape(n_boot, n)  # copies
    if not resample_videos:
        return times[:, subject_of]
    weights = np.zeros((n_boot, len(videos)), dtype=np.int64)
    strata = videos.assign(s=subject_of).groupby(["s", "label", "attack_type"], sort=True)
    for (s, _, _), rows in strata.indices.items():
        # the m videos of a stratum, drawn m times per copy of its subject: Multinomial
        uniform = np.full(rows.size, 1 / rows.size)
        weights[:, rows] = rng.multinomial(times[:, s] * rows.size, uniform)
    return weights


def _metrics(weights: np.ndarray, videos: pd.DataFrame, scored: np.ndarray,
             errors: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric of :data:`METRICS` as an ``(n_weights, n_runs)`` array (NaN: undefined).

    ``weights`` is ``(n_weights, n_videos)``; ``scored`` and ``errors`` are
    ``(n_videos, n_runs)`` counts of :func:`video_counts`.
    """
    weights = weights.astype(np.float64)

    def rate(mask: np.ndarray) -> np.ndarray:  # 0 / 0 (nothing scored drawn) is NaN
        with np.errstate(invalid="ignore"):
            return (weights[:, mask] @ errors[mask]) / (weights[:, mask] @ scored[mask])

    label, kind = videos["label"].to_numpy(), videos["attack_type"].to_numpy()
    far, frr = rate(label == "attack"), rate(label == "bonafide")
    apcer = [rate((label == "attack") & (kind == t)) for t in np.unique(kind[label == "attack"])]
    apcer_ap = np.fmax.reduce(apcer)  # max over the types that have scored samples
    return {"test_hter": (far + frr) / 2, "test_far": far, "test_frr": frr,
            "test_apcer_ap": apcer_ap, "test_bpcer": frr, "test_acer": (apcer_ap + frr) / 2}


def _interval(stat: np.ndarray, ci: float) -> tuple[float, float, float, int]:
    """``(low, high, se, n_undefined)`` of replicate statistics, NaN ones left out."""
    defined = stat[~np.isnan(stat)]
    nan = float("nan")
    low, high = np.quantile(defined, [(1 - ci) / 2, (1 + ci) / 2]) if defined.size else (nan, nan)
    se = defined.std(ddof=DDOF) if defined.size > DDOF else nan
    return float(low), float(high), float(se), int(stat.size - defined.size)


def hierarchical_bootstrap(runs: list[tuple[pd.DataFrame, float]], *, n_boot: int = 2000,
                           ci: float = 0.95, seed: int = 0,
                           resample_videos: bool = False) -> pd.DataFrame:
    """The three intervals of each metric of :data:`METRICS` (module docstring), one row each.

    ``runs`` holds one ``(test samples, threshold)`` per training seed at one level (the
    samples as in :func:`video_counts`); all runs must have the same test videos. Columns
    (:data:`COLUMNS`): ``metric, n_runs, n_subjects, n_videos``, ``mean`` (the mean over runs
    on the unresampled test set), ``<kind>_low, <kind>_high, <kind>_se`` for each kind of
    :data:`INTERVALS`, ``test_share``, ``n_boot`` and ``<kind>_undefined`` (replicates in
    which the statistic was undefined, excluded from that interval). ``resample_videos``
    adds step 2 of the module docstring.
    """
    _check_ci(ci)
    if n_boot < 2:
        raise ValueError(f"n_boot must be at least 2, got {n_boot}")
    if not runs:
        raise ValueError("no runs given")
    tables = []
    for i, (samples, threshold) in enumerate(runs):
        try:
            tables.append(video_counts(samples, threshold))
        except ValueError as err:
            raise ValueError(f"run {i}: {err}") from None
    videos = tables[0][list(META_COLUMNS)]
    for i, table in enumerate(tables[1:], start=1):
        if not table[list(META_COLUMNS)].equals(videos):
            raise ValueError(f"run {i}: its test videos (ids, subjects, labels, attack types) "
                             "differ from those of run 0")
    if set(videos["label"]) != {"bonafide", "attack"}:
        raise ValueError("the test set needs both bona fide and attack videos")
    scored = np.column_stack([t["n_scored"].to_numpy(np.float64) for t in tables])
    errors = np.column_stack([t["n_errors"].to_numpy(np.float64) for t in tables])

    rng = np.random.default_rng(seed)
    weights = _test_weights(videos, n_boot, rng, resample_videos)
    resampled = _metrics(weights, videos, scored, errors)
    point = _metrics(np.ones((1, len(videos))), videos, scored, errors)
    picks = rng.integers(0, len(runs), size=(n_boot, len(runs)))
    rows = []
    for metric in METRICS:
        per_run, replicates = point[metric][0], resampled[metric]
        stats = {"training": per_run[picks].mean(axis=1), "test": replicates.mean(axis=1),
                 "both": np.take_along_axis(replicates, picks, axis=1).mean(axis=1)}
        row = {"metric": metric, "n_runs": len(runs), "n_subjects": videos["subject"].nunique(),
               "n_videos": len(videos), "mean": float(per_run.mean()), "n_boot": n_boot}
        for kind, stat in stats.items():
            low, high, se, undefined = _interval(stat, ci)
            row.update({f"{kind}_low": low, f"{kind}_high": high, f"{kind}_se": se,
                        f"{kind}_undefined": undefined})
        test_var, training_var = row["test_se"] ** 2, row["training_se"] ** 2
        total = test_var + training_var
        row["test_share"] = test_var / total if total > 0 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))

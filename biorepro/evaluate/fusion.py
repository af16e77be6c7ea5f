"""Score tables and the fusion of frame scores into one score per video.

A frame-level score table has the columns ``video_id, subject, label, attack_type,
frame, score`` (label ``"bonafide"``/``"attack"``, attack_type ``""`` for bona fide,
score float with higher = more bona fide, NaN allowed). A video-level table has the same
columns without ``frame``.
"""

from __future__ import annotations

import pandas as pd

from biorepro.data.records import LABELS

FUSIONS = ("mean", "median", "min", "max")
META_COLUMNS = ("video_id", "subject", "label", "attack_type")


def check_scores(scores: pd.DataFrame, name: str = "scores") -> pd.DataFrame:
    """Validated copy of a score table: text columns as ``str``, score as float.

    An empty or missing attack type of an attack is named ``"attack"`` and a bona fide
    row must have none (as in :class:`biorepro.data.records.VideoRecord`). Errors name the
    table (``name``).
    """
    missing = [c for c in (*META_COLUMNS, "score") if c not in scores.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}; have {list(scores.columns)}")
    out = scores.copy()
    for col in META_COLUMNS:
        out[col] = out[col].fillna("").astype(str)
    bad = sorted(set(out["label"]) - set(LABELS))
    if bad:
        raise ValueError(f"{name}: labels {bad} are not one of {LABELS}")
    typed_bonafide = (out["label"] == "bonafide") & (out["attack_type"] != "")
    if typed_bonafide.any():
        example = out.loc[typed_bonafide, "video_id"].iloc[0]
        raise ValueError(f"{name}: {int(typed_bonafide.sum())} bona fide rows have an "
                         f"attack_type (e.g. video {example!r})")
    out.loc[(out["label"] == "attack") & (out["attack_type"] == ""), "attack_type"] = "attack"
    try:
        out["score"] = pd.to_numeric(out["score"], errors="raise").astype(float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: column score is not numeric: {err}") from None
    return out


def fuse(frame_scores: pd.DataFrame, method: str = "mean") -> pd.DataFrame:
    """One row per video (sorted by video_id): ``video_id, subject, label, attack_type, score``.

    ``method`` is one of mean (default), median, min, max of the video's frame scores.
    NaN frame scores are ignored; a video whose frames are all NaN gets a NaN score
    (a failure to acquire at video level). A video must have one subject, label and
    attack type.
    """
    if method not in FUSIONS:
        raise ValueError(f"unknown fusion {method!r}; allowed: {', '.join(FUSIONS)}")
    frames = check_scores(frame_scores, "frame scores")
    groups = frames.groupby("video_id", sort=True)
    meta_cols = list(META_COLUMNS[1:])
    conflicts = groups[meta_cols].nunique()
    conflicts = conflicts[(conflicts > 1).any(axis=1)]
    if len(conflicts):
        raise ValueError(
            f"frame scores: videos {list(conflicts.index[:5])} have frames with different "
            f"subject, label or attack_type"
        )
    videos = groups[meta_cols].first()
    videos["score"] = groups["score"].agg(method)
    return videos.reset_index()[[*META_COLUMNS, "score"]]

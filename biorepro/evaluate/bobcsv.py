"""Score files in bob.pad.base's CSV format, readable by ``bob pad metrics``.

Columns: ``claimed_id`` (the subject), ``test_label`` (the sample: the video id),
``is_bonafide`` (``True``/``False``), ``attack_type`` (empty for bona fide), ``score``;
then the extra columns ``video_id`` and, for frame-level tables, ``frame``. NaN scores
are written as ``nan`` (bob parses each score with ``float``). Scores are written with
Python's shortest round-trip repr, so reading a file back gives the same floats.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from biorepro.evaluate.fusion import check_scores

BOB_COLUMNS = ("claimed_id", "test_label", "is_bonafide", "attack_type", "score")


def write_scores(scores: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a frame- or video-level score table (see :mod:`biorepro.evaluate.fusion`) to ``path``."""
    table = check_scores(scores, f"scores for {path}")
    out = pd.DataFrame({
        "claimed_id": table["subject"],
        "test_label": table["video_id"],
        "is_bonafide": (table["label"] == "bonafide").map({True: "True", False: "False"}),
        "attack_type": table["attack_type"],
        "score": [repr(float(s)) for s in table["score"]],
        "video_id": table["video_id"],
    })
    if "frame" in table.columns:
        out["frame"] = table["frame"].astype(int)
    path = Path(path)
    out.to_csv(path, index=False)
    return path


def read_scores(path: str | os.PathLike) -> pd.DataFrame:
    """Read a bob.pad.base score CSV into a score table.

    ``subject`` comes from ``claimed_id``, ``video_id`` from the ``video_id`` column when
    present (else ``test_label``), ``label`` from ``is_bonafide`` (case-insensitive
    ``true`` = bona fide, as bob); ``frame`` is kept when present.
    """
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in BOB_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: not a bob.pad.base score file, missing columns {missing}")
    flags = raw["is_bonafide"].str.strip().str.lower()
    bad = sorted(set(flags) - {"true", "false"})
    if bad:
        raise ValueError(f"{path}: column is_bonafide has values {bad}, expected True/False")
    try:
        score = raw["score"].str.strip().map(float)
    except ValueError as err:
        raise ValueError(f"{path}: column score: {err}") from None
    table = pd.DataFrame({
        "video_id": raw["video_id"] if "video_id" in raw.columns else raw["test_label"],
        "subject": raw["claimed_id"],
        "label": flags.map({"true": "bonafide", "false": "attack"}),
        "attack_type": raw["attack_type"],
    })
    if "frame" in raw.columns:
        table["frame"] = raw["frame"].astype(int)
    table["score"] = score.astype(float)
    return check_scores(table, str(path))

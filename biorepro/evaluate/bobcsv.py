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


def write_scores(scores: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a frame- or video-level score table (see :mod:`biorepro.evaluate.fusion`) to
    ``path``."""
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


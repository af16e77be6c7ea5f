"""The split stage job: split folders from the frames entries, bad videos handled.

Unusable videos are listed in ``bad_videos.csv`` (see :mod:`biorepro.aggregate.datareport`) by
``video_id``, not by path: the path is no ingredient of the entry's key (copies of a
dataset in two places share the entry).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from biorepro.aggregate.datareport import BAD_COLUMNS, BAD_VIDEOS
from biorepro.joblog import Log
from biorepro.data.records import VideoRecord
from biorepro.data.split_folders import build_split_folders
from biorepro.data.splitting import SplitError, require_classes
from biorepro.store.entries import staging, write_provenance


class BadVideosError(RuntimeError):
    """Videos that could not be used, with ``dataset.on_bad_video: fail``."""


def frames_status(frames_dir: str | Path) -> dict:
    return json.loads((Path(frames_dir) / "frames.json").read_text())


def run(spec: dict, ingredients: dict, out: str, log: Log) -> None:
    """Build the split-folders entry; bad videos fail or are listed, per ``on_bad_video``."""
    on_bad = ingredients["params"]["on_bad_video"]
    good, bad = [], []
    for row in sorted(spec["records"], key=lambda r: r["video_id"]):  # the key fixes no order
        record = VideoRecord(**row)
        frames_dir = spec["frames"][record.video_id]
        status = frames_status(frames_dir)
        if status.get("bad"):
            bad.append((record, status["reason"]))
        else:
            good.append((record, Path(frames_dir)))
    if bad and on_bad == "fail":
        listing = "\n  ".join(f"{r.path}: {reason}" for r, reason in bad)
        raise BadVideosError(
            f"{len(bad)} video(s) cannot be used:\n  {listing}\nFix or remove them, or set "
            "dataset.on_bad_video: skip to leave them out (they are then listed in "
            f"results/<experiment>/{BAD_VIDEOS} and data_report.md).")
    try:
        require_classes([r for r, _ in good])
    except SplitError as err:
        raise SplitError(f"without the {len(bad)} bad video(s) left out "
                         f"(dataset.on_bad_video: skip): {err}") from None
    log(f"split: {len(good)} videos ({len(bad)} bad, skipped)")
    with staging(out) as tmp:
        counts = build_split_folders(good, tmp)
        with open(tmp / BAD_VIDEOS, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(BAD_COLUMNS)
            writer.writerows((r.video_id, r.split, r.label, reason) for r, reason in bad)
        write_provenance(tmp, ingredients, {"videos": len(good), "bad_videos": len(bad),
                                            **(counts or {})})
    log(f"split: published {out}")

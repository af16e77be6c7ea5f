"""The split stage job: split folders from the frames entries, bad videos handled."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from biorepro.joblog import Log
from biorepro.records import VideoRecord
from biorepro.splitfolders import build_split_folders
from biorepro.store import staging, write_provenance

BAD_VIDEOS = "bad_videos.csv"
BAD_COLUMNS = ("video_id", "path", "split", "label", "reason")


class BadVideosError(RuntimeError):
    """Videos that could not be used, with ``dataset.on_bad_video: fail``."""


def frames_status(frames_dir: str | Path) -> dict:
    return json.loads((Path(frames_dir) / "frames.json").read_text())


def run(spec: dict, ingredients: dict, out: str, log: Log) -> None:
    """Build the split-folders entry; bad videos fail or are listed, per ``on_bad_video``."""
    on_bad = ingredients["params"]["on_bad_video"]
    good, bad = [], []
    for row in spec["records"]:
        record = VideoRecord(**row)
        frames_dir = spec["frames"][record.video_id]
        status = frames_status(frames_dir)
        if status.get("bad"):
            bad.append({**{k: row[k] for k in BAD_COLUMNS[:4]}, "reason": status["reason"]})
        else:
            good.append((record, Path(frames_dir)))
    if bad and on_bad == "fail":
        listing = "\n  ".join(f"{b['path']}: {b['reason']}" for b in bad)
        raise BadVideosError(
            f"{len(bad)} video(s) cannot be used:\n  {listing}\nFix or remove them, or set "
            "dataset.on_bad_video: skip to leave them out (they are then listed in "
            "results/<experiment>/data_report.csv).")
    log(f"split: {len(good)} videos ({len(bad)} bad, skipped)")
    with staging(out) as tmp:
        counts = build_split_folders(good, tmp)
        with open(tmp / BAD_VIDEOS, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=BAD_COLUMNS)
            writer.writeheader()
            writer.writerows(bad)
        write_provenance(tmp, ingredients, {"videos": len(good), "bad_videos": len(bad),
                                            **(counts or {})})
    log(f"split: published {out}")

"""The split stage: the train/devel/test folders from the frames entries.

Videos come from the entry's parameters (``videos``: id -> label, subject, split,
attack type) and their frames entries from its inputs. Unusable videos stop the stage
(``on_bad_video: fail``) or are left out and listed in ``bad_videos.csv`` by
``video_id``, never by path: the path is no ingredient of the key (copies of a dataset
in two places share the entry).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from biorepro.data.records import VideoRecord
from biorepro.data.split_folders import build_split_folders
from biorepro.data.splitting import SplitError, require_classes
from biorepro.errors import Refusal
from biorepro.joblog import Log
from biorepro.store.entries import observed
from biorepro.store.layouts import FRAMES, SPLIT

BAD_COLUMNS = ("video_id", "split", "label", "reason")


class BadVideosError(Refusal, RuntimeError):
    """Videos that could not be used, with ``dataset.on_bad_video: fail``."""


def build(job: dict, out: Path, log: Log) -> dict:
    """Build the split folders; bad videos fail or are listed, per ``on_bad_video``."""
    params, frames = job["ingredients"]["params"], job["inputs"]["frames"]
    good, bad = [], []
    for video_id in sorted(params["videos"]):
        record = VideoRecord(video_id=video_id, path=video_id, **params["videos"][video_id])
        status = json.loads((Path(frames[video_id]) / FRAMES.meta()).read_text())
        if status.get("bad"):
            bad.append((record, status["reason"]))
        else:
            good.append((record, Path(frames[video_id])))
    if bad and params["on_bad_video"] == "fail":
        listing = "\n  ".join(
            f"{r.video_id} (first extracted from "
            f"{observed(frames[r.video_id]).get('video', '?')}): {reason}" for r, reason in bad)
        raise BadVideosError(
            f"{len(bad)} video(s) cannot be used:\n  {listing}\nFix or remove them, or set "
            "dataset.on_bad_video: skip to leave them out (they are then listed in "
            f"results/<experiment>/{SPLIT.bad_videos()} and data_report.md).")
    try:
        require_classes([r for r, _ in good])
    except SplitError as err:
        raise SplitError(f"without the {len(bad)} bad video(s) left out "
                         f"(dataset.on_bad_video: skip): {err}") from None
    log(f"split: {len(good)} videos" + (f" ({len(bad)} bad, skipped)" if bad else ""))
    counts = build_split_folders(good, out)
    log(f"split: {counts['frames']} frames; failures to acquire (no face, no image): "
        + ", ".join(f"{split} {n}" for split, n in counts["fta"].items()))
    with open(out / SPLIT.bad_videos(), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(BAD_COLUMNS)
        writer.writerows((r.video_id, r.split, r.label, reason) for r, reason in bad)
    return {"videos": len(good), "bad_videos": len(bad), **counts}

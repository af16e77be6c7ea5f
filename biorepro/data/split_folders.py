"""Split folders: ``{train,devel,test}/{bonafide,attack}/<video_id>__<frame>.png``.

Files are copies of the frames entries' PNGs, not links: an entry shares no file with
another, so damage to one (or a write through a link) can never change another. Each
split folder loads as is with ``keras.utils.image_dataset_from_directory`` (classes
``attack`` and ``bonafide``, in that alphabetical order). ``split.csv`` lists every
chosen frame (layout: :data:`biorepro.store.layouts.SPLIT`); ``frame`` is the frame's
position among its video's chosen frames (its PNG's number in the frames entry), a
frame where no face was acquired has ``fta`` 1 and no file (``file`` empty), and
``domain`` is the video's source domain (multi-source experiments; empty otherwise).

Leakage check: a subject, or byte-identical video content, in two splits is an error
naming both files.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from biorepro.data.records import LABELS, SPLITS, VideoRecord
from biorepro.errors import Refusal
from biorepro.store.layouts import FRAMES, SPLIT

COLUMNS = ("split", "label", "attack_type", "subject", "video_id", "frame", "file", "fta",
           "domain")


class LeakageError(Refusal, ValueError):
    """The same subject or the same video content in two splits."""


def check_leakage(records: list[VideoRecord], content_digest: dict[str, str]) -> None:
    """Raise ``LeakageError`` if a subject or a video's content spans two splits."""
    for what, key_of in (("subject", lambda r: r.subject),
                         ("identical video content", lambda r: content_digest[r.path])):
        first: dict[str, VideoRecord] = {}
        for r in records:
            other = first.setdefault(key_of(r), r)
            if other.split != r.split:
                raise LeakageError(
                    f"leakage: {what} in two splits: {other.path} ({other.split}) and "
                    f"{r.path} ({r.split}). Keep each subject's videos in one split "
                    "(fix the dataset's split or the manifest), or remove the duplicate.")


def build_split_folders(items: list[tuple[VideoRecord, Path]], out_dir: str | Path) -> dict:
    """Lay out the frames of ``items`` (record, frames entry) under ``out_dir``.

    Returns counts: ``frames`` (with an image), ``fta`` (without: ``{split: count}``).
    """
    out_dir = Path(out_dir)
    for split in SPLITS:
        for label in LABELS:
            (out_dir / split / label).mkdir(parents=True, exist_ok=True)
    rows = []
    fta = dict.fromkeys(SPLITS, 0)
    for record, frames_dir in sorted(items, key=lambda it: it[0].video_id):
        meta = json.loads((Path(frames_dir) / FRAMES.meta()).read_text())
        missing = set(meta["fta_frames"])
        frames = {}
        for png in sorted(Path(frames_dir).glob(FRAMES.image.glob)):
            frame = int(png.stem)
            rel = SPLIT.image(split=record.split, label=record.label, video_id=record.video_id,
                              frame=frame)
            shutil.copyfile(png, out_dir / rel)
            frames[frame] = (rel, 0)
        frames.update({k: ("", 1) for k, number in enumerate(meta["frame_indices"])
                       if number in missing})
        fta[record.split] += len(missing)
        rows += [(record.split, record.label, record.attack_type, record.subject,
                  record.video_id, frame, *frames[frame], record.domain)
                 for frame in sorted(frames)]
    with open(out_dir / SPLIT.table(), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return {"frames": len(rows) - sum(fta.values()), "fta": fta}

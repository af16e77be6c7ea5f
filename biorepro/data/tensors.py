"""The tensor cache: per split, memory-mappable arrays of every frame.

Per split folder ``<entry>/<split>/``: ``images.npy`` uint8 ``N×H×W×3`` RGB (written
through a memory map, so building it needs little memory), ``labels.npy`` uint8
(1 = bona fide, 0 = attack), ``video_index.npy`` int32 (row of ``videos.csv``),
``frame_index.npy`` int32, ``videos.csv`` (video_id, subject, label, attack_type,
domain: the video's source domain in a multi-source experiment, for a model or loss that
uses domain labels through ``video_index``; empty for one dataset) and
``fta.npy`` int32 ``M×2``: (row of ``videos.csv``, frame) of each frame where no face was
acquired (``fta`` in ``split.csv``); those have no image row, so training never sees
them, and scoring gives them NaN. Rows are ordered by (video_id, frame); ``videos.csv``
lists every video of the split, including one whose frames are all FTA.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from biorepro.data.records import SPLITS
from biorepro.store.layouts import SPLIT, TENSORS

VIDEO_COLUMNS = ["video_id", "subject", "label", "attack_type", "domain"]


def build_tensor_cache(split_dir: str | Path, out_dir: str | Path, image_size: int,
                       log=None) -> dict[str, int]:
    """Write the cache of every split; returns the number of frames (with an image) per split."""
    split_dir, out_dir = Path(split_dir), Path(out_dir)
    table = pd.read_csv(split_dir / SPLIT.table(), keep_default_na=False,
                        dtype={"subject": str, "video_id": str, "attack_type": str,
                               "domain": str})
    counts = {}
    for split in SPLITS:
        rows = table[table["split"] == split].sort_values(["video_id", "frame"])
        counts[split] = _write_split(split_dir, rows, out_dir, split, image_size)
        if log:
            log(f"tensors: {split}: {counts[split]} frames, "
                f"{int(rows['fta'].sum())} without a face (FTA, scored NaN)")
    return counts


def _write_split(split_dir: Path, rows: pd.DataFrame, out: Path, split: str, size: int) -> int:
    import cv2  # here only: reading a cache (training) needs no OpenCV

    (out / split).mkdir(parents=True)
    videos = rows.drop_duplicates("video_id")[VIDEO_COLUMNS].reset_index(drop=True)
    videos.to_csv(out / TENSORS.videos(split=split), index=False)
    row_of = {v: i for i, v in enumerate(videos["video_id"])}
    missed = rows[rows["fta"] == 1]
    np.save(out / TENSORS.fta(split=split), np.stack(
        [missed["video_id"].map(row_of).to_numpy(np.int32), missed["frame"].to_numpy(np.int32)],
        axis=1).reshape(-1, 2))
    rows = rows[rows["fta"] == 0]
    n = len(rows)
    images = np.lib.format.open_memmap(out / TENSORS.images(split=split), mode="w+", dtype=np.uint8,
                                       shape=(n, size, size, 3))
    for i, rel in enumerate(rows["file"]):
        bgr = cv2.imread(str(split_dir / rel), cv2.IMREAD_COLOR)
        if bgr is None:
            raise OSError(f"cannot read frame {split_dir / rel}")
        if bgr.shape[:2] != (size, size):
            bgr = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA)
        images[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    images.flush()
    del images
    np.save(out / TENSORS.labels(split=split),
            (rows["label"].to_numpy() == "bonafide").astype(np.uint8))
    np.save(out / TENSORS.video_index(split=split), rows["video_id"].map(row_of).to_numpy(np.int32))
    np.save(out / TENSORS.frame_index(split=split), rows["frame"].to_numpy(np.int32))
    return n


@dataclass
class SplitTensors:
    """One split of the cache, rows in (video_id, frame) order: arrays as in the module
    docstring, ``video_index`` a row of ``videos``; ``len`` is the number of frames with
    an image; ``fta`` the (video row, frame) pairs of those without."""

    images: np.ndarray
    labels: np.ndarray
    video_index: np.ndarray
    frame_index: np.ndarray
    videos: pd.DataFrame
    fta: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def load_split(tensor_dir: str | Path, split: str, mmap: bool = True) -> SplitTensors:
    """One split of a tensor cache; ``images`` is a read-only memory map by default."""
    d = Path(tensor_dir)
    return SplitTensors(
        np.load(d / TENSORS.images(split=split), mmap_mode="r" if mmap else None),
        np.load(d / TENSORS.labels(split=split)), np.load(d / TENSORS.video_index(split=split)),
        np.load(d / TENSORS.frame_index(split=split)),
        pd.read_csv(d / TENSORS.videos(split=split), keep_default_na=False,
                    dtype={"subject": str, "video_id": str, "attack_type": str,
                           "domain": str}),
        np.load(d / TENSORS.fta(split=split)))


def random_cache(root: Path, n: int, size: int, seed: int = 0) -> Path:
    """A cache whose train split holds ``n`` random ``size`` px images, labels alternating
    (for benchmarks of training throughput: the images' content does not matter)."""
    rng = np.random.default_rng(seed)
    (root / "train").mkdir(parents=True, exist_ok=True)
    images = np.lib.format.open_memmap(root / TENSORS.images(split="train"), "w+", np.uint8,
                                       (n, size, size, 3))
    for start in range(0, n, 1024):
        stop = min(n, start + 1024)
        images[start:stop] = rng.integers(0, 256, (stop - start, size, size, 3), np.uint8)
    images.flush()
    del images
    np.save(root / TENSORS.labels(split="train"), (np.arange(n) % 2).astype(np.uint8))
    np.save(root / TENSORS.video_index(split="train"), np.zeros(n, np.int32))
    np.save(root / TENSORS.frame_index(split="train"), np.arange(n, dtype=np.int32))
    np.save(root / TENSORS.fta(split="train"), np.zeros((0, 2), np.int32))
    pd.DataFrame([{"video_id": "v", "subject": "s", "label": "attack", "attack_type": "x",
                   "domain": ""}],
                 columns=VIDEO_COLUMNS).to_csv(root / TENSORS.videos(split="train"), index=False)
    return root

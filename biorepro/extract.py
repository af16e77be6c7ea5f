"""Frame extraction: a few frames per video, cropped, resized, saved as lossless PNG.

Frame choice: ``n_frames`` evenly spaced over the whole video (frame
``round((i + 0.5) * N / n)`` for ``i < n``), or every ``1/fps`` seconds. Crop:
``center`` takes the largest centred square; ``face`` takes the largest OpenCV Haar
cascade detection enlarged by ``face_scale`` (square, clamped to the image), falling
back to the centre crop when no face is found (counted as ``faces_missed``).
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from biorepro.joblog import Log
from biorepro.store import staging, write_provenance
from biorepro.videoio import BadVideoError, open_video, read_frames

FRAMES_DIR = "frames"
FRAMES_JSON = "frames.json"


@dataclass(frozen=True)
class ExtractParams:
    n_frames: int | None = 10
    fps: float | None = None
    crop: str = "center"
    size: int = 128
    face_scale: float = 1.3

    def __post_init__(self) -> None:
        if (self.n_frames is None) == (self.fps is None):
            raise ValueError("extract.n_frames / extract.fps: set exactly one of them")
        if self.n_frames is not None and self.n_frames < 1:
            raise ValueError(f"extract.n_frames: must be >= 1, got {self.n_frames}")
        if self.fps is not None and self.fps <= 0:
            raise ValueError(f"extract.fps: must be > 0, got {self.fps}")
        if self.crop not in ("center", "face"):
            raise ValueError(f"extract.crop: {self.crop!r} is not one of center, face")
        if self.size < 1:
            raise ValueError(f"extract.size: must be >= 1, got {self.size}")

    @classmethod
    def from_config(cls, conf: dict) -> "ExtractParams":
        return cls(**{k: conf[k] for k in ("n_frames", "fps", "crop", "size", "face_scale")
                      if k in conf})

    def frame_indices(self, n_frames_in_video: int, video_fps: float) -> list[int]:
        """Frame numbers to take from a video of ``n_frames_in_video`` frames."""
        if self.n_frames is not None:
            n = self.n_frames
            if n > n_frames_in_video:
                return list(range(n))  # read_frames reports the shortfall by name
            return [int((i + 0.5) * n_frames_in_video / n) for i in range(n)]
        step = video_fps / self.fps
        return sorted({int(i * step) for i in range(int(n_frames_in_video / step) or 1)})


@dataclass(frozen=True)
class ExtractJob:
    """One video to extract into its own entry, with that entry's key ingredients.

    The extraction parameters are read from ``ingredients["params"]``: an entry is
    always built with its own parameters, whatever else shares its batch.
    """

    path: Path
    out_dir: Path
    ingredients: dict

    @property
    def params(self) -> "ExtractParams":
        return ExtractParams.from_config(self.ingredients["params"])


@functools.lru_cache(maxsize=1)
def face_cascade() -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"cannot load the OpenCV face cascade {path}")
    return cascade


def center_box(h: int, w: int) -> tuple[int, int, int]:
    side = min(h, w)
    return (h - side) // 2, (w - side) // 2, side


def face_box(frame: np.ndarray, scale: float) -> tuple[int, int, int] | None:
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    faces = face_cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4,
                                            minSize=(24, 24))
    if len(faces) == 0:
        return None
    x, y, fw, fh = max(faces, key=lambda f: f[2] * f[3])
    h, w = frame.shape[:2]
    side = min(int(max(fw, fh) * scale), h, w)
    cy, cx = y + fh // 2, x + fw // 2
    top = min(max(cy - side // 2, 0), h - side)
    left = min(max(cx - side // 2, 0), w - side)
    return top, left, side


def crop_resize(frame: np.ndarray, params: ExtractParams) -> tuple[np.ndarray, bool]:
    """(square crop resized to ``params.size``, whether a face was found)."""
    box = face_box(frame, params.face_scale) if params.crop == "face" else None
    found = box is not None
    top, left, side = box or center_box(*frame.shape[:2])
    square = frame[top:top + side, left:left + side]
    interp = cv2.INTER_AREA if side > params.size else cv2.INTER_LINEAR
    return cv2.resize(square, (params.size, params.size), interpolation=interp), found


def extract_video(path: str | Path, out_dir: str | Path, params: ExtractParams) -> dict:
    """Write ``frames/00000.png, ...`` and ``frames.json`` for one video into ``out_dir``."""
    out_dir = Path(out_dir)
    cap, info = open_video(path)
    cap.release()
    indices = params.frame_indices(info.frames, info.fps)
    if params.n_frames is not None and params.n_frames > info.frames:
        raise BadVideoError(path, f"has {info.frames} frames, fewer than extract.n_frames="
                            f"{params.n_frames}")
    (out_dir / FRAMES_DIR).mkdir(parents=True, exist_ok=True)
    missed = 0
    for i, (_index, frame) in enumerate(read_frames(path, indices)):
        image, found = crop_resize(frame, params)
        missed += params.crop == "face" and not found
        if not cv2.imwrite(str(out_dir / FRAMES_DIR / f"{i:05d}.png"), image):
            raise OSError(f"cannot write a frame of {path} into {out_dir}")
    meta = {"frame_indices": indices, "source_frames": info.frames, "fps": info.fps,
            "width": info.width, "height": info.height, "faces_missed": missed, "bad": False}
    (out_dir / FRAMES_JSON).write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def extract_many(jobs: list[ExtractJob], *, log: Log = print) -> list[dict]:
    """Extract a batch of videos, each into its own atomically published entry.

    Each entry is extracted with its own parameters (``job.params``). A bad video is
    published as an entry whose ``frames.json`` says ``"bad": true`` with the reason
    (and has no frames): badness is a property of the bytes and the parameters.
    """
    results = []
    for n, job in enumerate(jobs, start=1):
        start = time.perf_counter()
        with staging(job.out_dir) as tmp:
            try:
                meta = extract_video(job.path, tmp, job.params)
            except BadVideoError as err:
                meta = {"bad": True, "reason": err.reason}
                (tmp / FRAMES_JSON).write_text(json.dumps(meta, indent=1) + "\n")
            write_provenance(tmp, job.ingredients,
                             {"video": str(job.path), "bad": meta["bad"],
                              "duration_s": round(time.perf_counter() - start, 3)})
        results.append(meta)
        what = f"BAD ({meta['reason']})" if meta["bad"] else \
            f"{len(meta['frame_indices'])} frames"
        log(f"extract {n}/{len(jobs)} {job.path}: {what} in "
            f"{time.perf_counter() - start:.2f} s")
    return results

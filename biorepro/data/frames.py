"""Frame extraction: a few frames per video, cropped, resized, saved as lossless PNG.

Frame choice (frame numbers and times as in ``biorepro.data.videoio``: the exact decoded frames,
their presentation timestamps): ``n_frames`` evenly spaced over the ``N`` frames (frame
``floor((i + 0.5) * N / n)`` for ``i < n``), or ``fps``: for each target time
``t0 + k / fps`` (``t0`` the first frame's time, up to the last frame's), the first frame at
or after it, each frame once (a stall longer than ``1/fps`` gives one frame). Crop:
``center`` takes the largest centred square; ``face`` takes the largest OpenCV Haar
cascade detection enlarged by ``face_scale`` (square, clamped to the image), falling
back to the centre crop when no face is found (counted as ``faces_missed``).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from biorepro.data.videoio import BadVideoError, read_frames
from biorepro.store.layouts import FRAMES


@dataclass(frozen=True)
class ExtractParams:
    """Frame extraction settings (config ``extract``): exactly one of ``n_frames`` (per
    video) and ``fps`` (frames per second); ``crop`` ``center``/``face``; ``size`` in pixels."""
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
    def from_config(cls, conf: dict) -> ExtractParams:
        """From the ``extract`` config section (absent keys take the defaults, others ignored)."""
        return cls(**{k: conf[k] for k in ("n_frames", "fps", "crop", "size", "face_scale")
                      if k in conf})

    def frame_indices(self, times: Sequence[Fraction]) -> list[int]:
        """Frame numbers to take from a video whose frame ``i`` is at ``times[i]`` seconds
        (``n_frames`` must not exceed ``len(times)``)."""
        if self.n_frames is not None:
            return [(2 * i + 1) * len(times) // (2 * self.n_frames)
                    for i in range(self.n_frames)]
        step = 1 / Fraction(str(float(self.fps)))
        reached = list(itertools.accumulate(times, max))  # "at or after", in frame order
        targets = itertools.takewhile(lambda t: t <= reached[-1],
                                      (times[0] + k * step for k in itertools.count()))
        return sorted({bisect.bisect_left(reached, t) for t in targets})


@functools.lru_cache(maxsize=1)
def face_cascade() -> cv2.CascadeClassifier:
    """OpenCV's frontal-face Haar cascade, loaded once (RuntimeError when it cannot be)."""
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"cannot load the OpenCV face cascade {path}")
    return cascade


def center_box(h: int, w: int) -> tuple[int, int, int]:
    """``(top, left, side)`` in pixels of the largest centred square of an ``h`` x ``w`` image."""
    side = min(h, w)
    return (h - side) // 2, (w - side) // 2, side


def face_box(frame: np.ndarray, scale: float) -> tuple[int, int, int] | None:
    """``(top, left, side)`` in pixels of a square around the largest face of a BGR frame,
    ``scale`` times its larger side and shifted/clamped into the image; None when no face."""
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
    """Write the frames of one video and their ``frames.json`` into ``out_dir`` (the
    files of :data:`biorepro.store.layouts.FRAMES`).

    ``frames.json``: ``frame_indices`` and their ``frame_times`` (seconds), ``source_frames``
    (the exact frame count), ``fps`` (mean rate), ``width``/``height`` and ``rotation``
    (degrees clockwise, applied before cropping), ``faces_missed``, ``bad``.
    """
    out_dir = Path(out_dir)

    def choose(times: list[Fraction]) -> list[int]:
        if params.n_frames is not None and params.n_frames > len(times):
            raise BadVideoError(path, f"has {len(times)} frames, fewer than extract.n_frames="
                                f"{params.n_frames}; remove it or lower extract.n_frames")
        return params.frame_indices(times)

    video = read_frames(path, choose)
    (out_dir / FRAMES.image(index=0)).parent.mkdir(parents=True, exist_ok=True)
    missed = 0
    for i, frame in enumerate(video.images):
        image, found = crop_resize(frame, params)
        missed += params.crop == "face" and not found
        if not cv2.imwrite(str(out_dir / FRAMES.image(index=i)), image):
            raise OSError(f"cannot write a frame of {path} into {out_dir}")
    meta = {"frame_indices": video.indices,
            "frame_times": [round(float(video.times[i]), 6) for i in video.indices],
            "source_frames": video.frames, "fps": video.fps, "width": video.width,
            "height": video.height, "rotation": video.rotation, "faces_missed": missed,
            "bad": False}
    (out_dir / FRAMES.meta()).write_text(json.dumps(meta, indent=1) + "\n")
    return meta

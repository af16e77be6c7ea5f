"""Frame extraction: a few frames per video, cropped, resized, saved as lossless PNG.

Frame choice (frame numbers and times as in ``biorepro.data.videoio``: the exact decoded frames,
their presentation timestamps): ``n_frames`` evenly spaced over the ``N`` frames (frame
``floor((i + 0.5) * N / n)`` for ``i < n``), or ``fps``: for each target time
``t0 + k / fps`` (``t0`` the first frame's time, up to the last frame's), the first frame at
or after it, each frame once (a stall longer than ``1/fps`` gives one frame).

Crop: ``center`` takes the largest centred square. ``face`` (OpenCV Haar cascade),
``mtcnn`` (the MTCNN network) and ``annotations`` (the video's face-location file) find
a face box (see :mod:`biorepro.data.faces`); the crop is the square of side
``face_scale`` times the box's larger side around the box's centre, shifted and clamped
into the image. A frame where no face is found is a failure to acquire (FTA): it gets no
image and is listed in ``fta_frames``, unless ``no_face`` is ``center`` (then it is
centre-cropped). Both are counted in ``faces_missed``.

A video whose stream ends before its container says (``Frames.truncated``: a partial file)
is bad even when its chosen frames decode: the frame choice would rest on a cut-off video.

A still image (:mod:`biorepro.data.imageio`) is its only frame, frame 0, whatever
``n_frames`` or ``fps`` say; cropping and face finding are the same.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from biorepro.data.faces import Box, annotation_boxes, haar_face, is_face, mtcnn_face
from biorepro.data.imageio import is_image, read_image
from biorepro.data.videoio import BadVideoError, read_frames
from biorepro.store.layouts import FRAMES


@dataclass(frozen=True)
class ExtractParams:
    """Frame extraction settings: a validated config's ``extract`` section (its defaults
    and bounds are the schema's, declared nowhere else): exactly one of ``n_frames`` (per
    video) and ``fps`` (frames per second); ``crop`` (``center``, ``face``,
    ``annotations``, ``mtcnn``); ``size`` in pixels; ``no_face`` (``fta`` or ``center``)
    what a frame without a face gets; ``min_face_confidence`` of an MTCNN detection;
    ``detector`` the identity of the
    ``face``/``mtcnn`` detector the entry was planned with (see
    :func:`biorepro.data.faces.detector_identity`; checked by the job, unused here);
    ``annotation_format`` how the annotation files of ``crop: annotations`` are read (a
    key of :data:`biorepro.data.faces.ANNOTATION_FORMATS`, the dataset card's)."""
    n_frames: int | None
    fps: float | None
    crop: str
    size: int
    face_scale: float
    no_face: str
    min_face_confidence: float
    detector: dict | None = None
    annotation_format: str | None = None

    @classmethod
    def from_config(cls, conf: dict) -> ExtractParams:
        """From a validated ``extract`` config section, or a frames key's parameters."""
        return cls(**{f.name: conf[f.name] for f in dataclasses.fields(cls)
                      if f.name in conf})

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


def center_box(h: int, w: int) -> tuple[int, int, int]:
    """``(top, left, side)`` in pixels of the largest centred square of an ``h`` x ``w`` image."""
    side = min(h, w)
    return (h - side) // 2, (w - side) // 2, side


def square_box(box: Box, h: int, w: int, scale: float) -> tuple[int, int, int]:
    """``(top, left, side)`` in pixels of the square around the face ``box`` (``(x, y,
    width, height)``) of an ``h`` x ``w`` image: ``scale`` times its larger side, centred
    on it, shifted and clamped into the image."""
    x, y, bw, bh = box
    side = max(min(int(max(bw, bh) * scale), h, w), 1)
    cy, cx = y + bh // 2, x + bw // 2
    top = min(max(cy - side // 2, 0), h - side)
    left = min(max(cx - side // 2, 0), w - side)
    return top, left, side


def crop_resize(frame: np.ndarray, params: ExtractParams, box: Box | None = None) -> np.ndarray:
    """The square crop of ``frame`` around the face ``box`` (the centre crop when None),
    resized to ``params.size``."""
    h, w = frame.shape[:2]
    top, left, side = center_box(h, w) if box is None else square_box(box, h, w,
                                                                       params.face_scale)
    square = frame[top:top + side, left:left + side]
    interp = cv2.INTER_AREA if side > params.size else cv2.INTER_LINEAR
    return cv2.resize(square, (params.size, params.size), interpolation=interp)


def face_locator(params: ExtractParams, annotations: str | Path | None = None,
                 video: str | Path = "") -> Callable[[np.ndarray, int], Box | None] | None:
    """``locate(frame, frame number) -> face box or None`` for ``params.crop`` (None for
    ``center``); ``annotations`` is the video's face-location file (``crop: annotations``)."""
    if params.crop == "face":
        return lambda frame, _number: haar_face(frame)
    if params.crop == "mtcnn":
        return lambda frame, _number: mtcnn_face(frame, params.min_face_confidence)
    if params.crop == "annotations":
        if not annotations:
            raise ValueError(f"video {video}: extract.crop is annotations but it has no "
                             "annotation file; give one, or choose another extract.crop")
        return annotation_boxes(annotations, params.annotation_format)
    return None


def extract_video(path: str | Path, out_dir: str | Path, params: ExtractParams,
                  annotations: str | Path | None = None) -> dict:
    """Write the frames of one video and their ``frames.json`` into ``out_dir`` (the
    files of :data:`biorepro.store.layouts.FRAMES`); ``annotations``: its face-location
    file, for ``crop: annotations``.

    Image ``k`` is the ``k``-th chosen frame (``frame_indices[k]``); an FTA frame has none.
    ``frames.json``: ``frame_indices`` and their ``frame_times`` (seconds), ``source_frames``
    (the exact frame count), ``fps`` (mean rate), ``width``/``height`` and ``rotation``
    (degrees clockwise, applied before cropping), ``faces_missed`` (chosen frames without
    a face), ``fta_frames`` (the frame numbers of those without an image), ``bad``.
    """
    out_dir = Path(out_dir)
    locate = face_locator(params, annotations, path)

    def choose(times: list[Fraction]) -> list[int]:
        if params.n_frames is not None and params.n_frames > len(times):
            raise BadVideoError(path, f"has {len(times)} frames, fewer than extract.n_frames="
                                f"{params.n_frames}; remove it or lower extract.n_frames")
        return params.frame_indices(times)

    video = read_image(path) if is_image(path) else read_frames(path, choose)
    if video.truncated:
        raise BadVideoError(path, f"truncated ({video.truncated}): the file was cut short, "
                            "as by an interrupted copy; copy it again from its source, or "
                            "remove it")
    (out_dir / FRAMES.image(index=0)).parent.mkdir(parents=True, exist_ok=True)
    missed, fta = 0, []
    for i, (number, frame) in enumerate(zip(video.indices, video.images)):
        box = None if locate is None else locate(frame, number)
        if locate is not None and not is_face(box, *frame.shape[:2]):
            box, missed = None, missed + 1
            if params.no_face == "fta":
                fta.append(number)
                continue
        if not cv2.imwrite(str(out_dir / FRAMES.image(index=i)), crop_resize(frame, params, box)):
            raise OSError(f"cannot write a frame of {path} into {out_dir}")
    meta = {"frame_indices": video.indices,
            "frame_times": [round(float(video.times[i]), 6) for i in video.indices],
            "source_frames": video.frames, "fps": video.fps, "width": video.width,
            "height": video.height, "rotation": video.rotation, "faces_missed": missed,
            "fta_frames": fta, "bad": False}
    (out_dir / FRAMES.meta()).write_text(json.dumps(meta, indent=1) + "\n")
    return meta

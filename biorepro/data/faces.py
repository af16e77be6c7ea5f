"""Where the face is in a frame: a dataset's annotation files, or a face detector.

Conventions: a box is ``(x, y, width, height)`` in integer pixels of the frame as decoded
(rotation applied), ``(x, y)`` its top-left corner, x to the right and y downwards. A box
is a face only when it has a positive width and height and overlaps the frame; anything
else (Replay-Attack's ``0 0 0 0``, a frame an annotation file does not list, no
detection) means no face was found in that frame: a failure to acquire (FTA). Frame
numbers are those of ``biorepro.data.videoio``: the index of the frame in decoding
(presentation) order, the first frame being 0.

Annotation files (``read_annotations``): a ``.csv`` file has a header with the columns
``frame,x,y,width,height`` (others are an error); any other file is in Replay-Attack's
``face-locations`` format (Idiap's ``bob.db.replay``): one line per frame,
``frame x y width height`` separated by blanks, or in Replay-Mobile's (``faceloc/rect``,
``bob.db.replaymobile``): ``x y width height``, the line number (from 0) being the frame
number; a file uses one of the two throughout. Values are rounded to the nearest pixel.
Those are the ``frames`` format of :data:`ANNOTATION_FORMATS`; a dataset card may name
another (``celeba-spoof``: :func:`read_celeba_box`).

Detectors: ``face`` is OpenCV's frontal-face Haar cascade; ``mtcnn`` is the ``mtcnn``
package's three-stage network, loaded from the weight files shipped inside the package
and run by TensorFlow on the CPU with op determinism (and oneDNN off, whose kernels differ
across CPUs, when TensorFlow was not loaded yet: a frames job loads it only for this).
:func:`detector_identity` names a detector's version and weight files (their SHA-256)
without importing TensorFlow, so that planning can put them into the frames key and a
job can refuse another detector.
"""

from __future__ import annotations

import csv
import functools
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

Box = tuple[int, int, int, int]
CSV_COLUMNS = ("frame", "x", "y", "width", "height")
HAAR_FILE = "haarcascade_frontalface_default.xml"
MTCNN_STAGES = ("pnet", "rnet", "onet")  # its weight files: assets/weights/<stage>.lz4


class AnnotationError(ValueError):
    """An annotation file that cannot be read as per-frame face boxes."""


class DetectorError(RuntimeError):
    """A face detector that is missing, or not the one the entry was planned with."""


def read_annotations(path: str | os.PathLike) -> dict[int, Box]:
    """The boxes of an annotation file by frame number (see the module docstring);
    errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise AnnotationError(f"annotation file {path}: cannot be read ({err})") from None
    numbered = False  # Replay-Mobile's files: the line number is the frame number
    if path.suffix.lower() == ".csv":
        reader = csv.reader(text.splitlines())
        header = next(reader, [])
        if tuple(h.strip() for h in header) != CSV_COLUMNS:
            raise AnnotationError(f"annotation file {path}: the header must be "
                                  f"{','.join(CSV_COLUMNS)}, not {','.join(header)}")
        rows = ((reader.line_num, row) for row in reader)
    else:
        lines = text.splitlines()
        numbered = len(next((ln.split() for ln in lines if ln.strip()), [])) == 4
        rows = ((n, [str(n - 1), *line.split()] if numbered else line.split())
                for n, line in enumerate(lines, 1))
    boxes: dict[int, Box] = {}
    for line, fields in rows:
        if not any(f.strip() for f in fields[1 if numbered else 0:]):
            continue
        try:
            if len(fields) != 5:
                raise ValueError(f"{len(fields) - numbered} fields instead of "
                                 f"{4 if numbered else 5}")
            frame = int(fields[0])
            box = tuple(round(float(v)) for v in fields[1:])
        except ValueError as err:
            layout = "x y width height" if numbered else "frame x y width height"
            raise AnnotationError(f"annotation file {path}, line {line}: expected "
                                  f"'{layout}' ({err})") from None
        if frame < 0 or frame in boxes:
            raise AnnotationError(f"annotation file {path}, line {line}: frame {frame} is "
                                  + ("negative" if frame < 0 else "listed twice"))
        boxes[frame] = box
    return boxes


ANNOTATION_FORMATS = {
    "frames": "a box per frame number (read_annotations)",
    "celeba-spoof": "one box for the image, in a 224x224 rescaling of it (read_celeba_box)",
}
CELEBA_SIDE = 224  # CelebA-Spoof's boxes are given in the image rescaled to 224 x 224


def read_celeba_box(path: str | os.PathLike) -> tuple[float, float, float, float]:
    """The box of a CelebA-Spoof ``*_BB.txt`` file: its first line ``x y width height
    score``, in the image rescaled to :data:`CELEBA_SIDE` pixels square."""
    path = Path(path)
    try:
        fields = path.read_text(encoding="utf-8-sig").split("\n", 1)[0].split()
        if len(fields) != 5:
            raise ValueError(f"{len(fields)} fields instead of 5")
        x, y, w, h = (float(v) for v in fields[:4])
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise AnnotationError(f"annotation file {path}, line 1: expected 'x y width height "
                              f"score' ({err})") from None
    return x, y, w, h


def annotation_boxes(path: str | os.PathLike,
                     fmt: str | None) -> Callable[[np.ndarray, int], Box | None]:
    """``locate(frame, frame number) -> box or None`` from the annotation file ``path``
    in format ``fmt`` (:data:`ANNOTATION_FORMATS`; None: ``frames``)."""
    if fmt in (None, "frames"):
        boxes = read_annotations(path)
        return lambda _frame, number: boxes.get(number)
    if fmt == "celeba-spoof":
        x, y, w, h = read_celeba_box(path)

        def scaled(frame: np.ndarray, number: int) -> Box | None:
            sy, sx = frame.shape[0] / CELEBA_SIDE, frame.shape[1] / CELEBA_SIDE
            return (round(x * sx), round(y * sy), round(w * sx), round(h * sy)) if number == 0 \
                else None

        return scaled
    raise ValueError(f"annotation format {fmt!r}: one of {', '.join(ANNOTATION_FORMATS)}")


def is_face(box: Box | None, height: int, width: int) -> bool:
    """Whether ``box`` is a face in a ``height`` x ``width`` frame (positive size, overlapping
    it)."""
    if box is None:
        return False
    x, y, w, h = box
    return w > 0 and h > 0 and x < width and y < height and x + w > 0 and y + h > 0


def haar_cascade_path() -> Path:
    """OpenCV's frontal-face Haar cascade file (the ``face`` detector's weights)."""
    return Path(cv2.data.haarcascades) / HAAR_FILE


@functools.lru_cache(maxsize=1)
def face_cascade() -> cv2.CascadeClassifier:
    """OpenCV's frontal-face Haar cascade, loaded once (DetectorError when it cannot be)."""
    cascade = cv2.CascadeClassifier(str(haar_cascade_path()))
    if cascade.empty():
        raise DetectorError(f"cannot load the OpenCV face cascade {haar_cascade_path()}")
    return cascade


def haar_face(frame: np.ndarray) -> Box | None:
    """The largest Haar-cascade detection in a BGR frame, None when there is none."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    faces = face_cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4,
                                            minSize=(24, 24))
    if len(faces) == 0:
        return None
    return tuple(int(v) for v in max(faces, key=lambda f: f[2] * f[3]))


def _mtcnn_weights() -> dict[str, Path]:
    spec = importlib.util.find_spec("mtcnn")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise DetectorError("extract.crop: mtcnn needs the mtcnn package (pinned in "
                            "requirements.lock): install it, or choose another extract.crop")
    folder = Path(next(iter(spec.submodule_search_locations))) / "assets" / "weights"
    files = {stage: folder / f"{stage}.lz4" for stage in MTCNN_STAGES}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise DetectorError(f"extract.crop: mtcnn: weight files {missing} are missing; "
                            "reinstall the mtcnn package")
    return files


def detector_identity(crop: str, digest: Callable[[Path], str]) -> dict | None:
    """``{name, version, weights: {file name: SHA-256}}`` of the detector of ``crop``
    (None for ``center`` and ``annotations``); ``digest(path)`` gives a file's SHA-256.
    Imports neither the detector nor TensorFlow."""
    if crop == "face":
        files = {HAAR_FILE: haar_cascade_path()}
        name, version = "opencv-haar", cv2.__version__
    elif crop == "mtcnn":
        files = {p.name: p for p in _mtcnn_weights().values()}
        name, version = "mtcnn", importlib.metadata.version("mtcnn")
    else:
        return None
    return {"name": name, "version": version,
            "weights": {n: digest(p) for n, p in sorted(files.items())}}


@functools.lru_cache(maxsize=1)
def _mtcnn_model():
    if "tensorflow" not in sys.modules:  # oneDNN kernels differ across CPUs
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import tensorflow as tf
    from mtcnn import MTCNN
    from mtcnn.stages import StageONet, StagePNet, StageRNet

    tf.config.experimental.enable_op_determinism()
    w = _mtcnn_weights()  # by path: the package would prefer a same-named file in the cwd
    return MTCNN(stages=[StagePNet(weights=str(w["pnet"])), StageRNet(weights=str(w["rnet"])),
                         StageONet(weights=str(w["onet"]))], device="CPU:0")


def mtcnn_face(frame: np.ndarray, min_confidence: float) -> Box | None:
    """The largest MTCNN detection of confidence >= ``min_confidence`` in a BGR frame,
    None when there is none. The first call loads the model (TensorFlow, CPU)."""
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    found = [f for f in _mtcnn_model().detect_faces(rgb, box_format="xywh")
             if f["confidence"] >= min_confidence]
    if not found:
        return None
    best = max(found, key=lambda f: f["box"][2] * f["box"][3])
    return tuple(round(float(v)) for v in best["box"])

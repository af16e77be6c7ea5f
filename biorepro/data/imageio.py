"""Still images as one-frame videos (databases such as CelebA-Spoof ship images).

A file whose extension is one of :data:`IMAGE_EXTENSIONS` is an image: it is one frame,
frame 0 at time 0, whatever ``extract.n_frames`` or ``extract.fps`` say. It is decoded by
OpenCV into BGR ``uint8``, as stored: an EXIF orientation tag is not applied (rotation
0), so that face boxes given in the stored pixels stay valid. An image that does not
decode, or whose data ends before its format's end marker (JPEG without its EOI marker,
PNG without its IEND chunk: a partial copy), is a :class:`~biorepro.data.videoio.BadVideoError`.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from biorepro.data.videoio import BadVideoError, Frames

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# The bytes a complete file of each format holds near its end.
END_MARKERS = {".jpg": b"\xff\xd9", ".jpeg": b"\xff\xd9", ".png": b"IEND"}


def is_image(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a still image (by its extension, any case)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def read_image(path: str | os.PathLike) -> Frames:
    """The image ``path`` as one frame (see the module docstring)."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise BadVideoError(path, f"cannot be read ({err.strerror or err})") from None
    marker = END_MARKERS.get(Path(path).suffix.lower())
    if marker is not None and marker not in data[-64:]:
        raise BadVideoError(path, "truncated: the image ends before its end marker (a "
                                  "partial copy); copy it again from its source, or remove it")
    image = cv2.imdecode(np.frombuffer(data, np.uint8),
                         cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION) if data else None
    if image is None:
        raise BadVideoError(path, "cannot be decoded as an image; convert it (e.g. to PNG) "
                                  "or remove it")
    return Frames(indices=[0], images=[image], times=[Fraction(0)], rotation=0)

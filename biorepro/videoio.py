"""Reading frames from video files with OpenCV, failing loudly and by name.

``BadVideoError`` carries the file and the reason; it is raised for files OpenCV cannot
open (missing, empty, not a video), for videos with fewer frames than asked, and when an
asked frame cannot be decoded (e.g. a truncated file whose header claims more frames).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np


class BadVideoError(Exception):
    def __init__(self, path: str | os.PathLike, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


SEEK_GAP = 4  # frames; smaller gaps are decoded through


@dataclass(frozen=True)
class VideoInfo:
    frames: int
    fps: float
    width: int
    height: int


def open_video(path: str | os.PathLike) -> tuple[cv2.VideoCapture, VideoInfo]:
    """Open ``path``; raise ``BadVideoError`` unless it is a readable video."""
    if not os.path.isfile(path):
        raise BadVideoError(path, "file does not exist")
    if os.path.getsize(path) == 0:
        raise BadVideoError(path, "file is empty (0 bytes)")
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise BadVideoError(path, "not a readable video (OpenCV/FFmpeg cannot open it)")
    info = VideoInfo(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), float(cap.get(cv2.CAP_PROP_FPS)),
                     int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                     int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    if info.frames <= 0 or info.width <= 0 or info.height <= 0:
        cap.release()
        raise BadVideoError(path, "video stream has no frames")
    return cap, info


def read_frames(path: str | os.PathLike, indices: list[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, BGR frame)`` for the sorted frame ``indices`` of ``path``.

    Large gaps are skipped by seeking (cheap for intra-only codecs such as MJPEG, where
    every frame is a key frame), small ones by ``grab()``; only asked frames are
    converted (``retrieve()``). The position after a seek is checked, so a container
    that seeks inexactly raises instead of returning the wrong frame.
    """
    cap, info = open_video(path)
    try:
        wanted = sorted(set(indices))
        if wanted and wanted[-1] >= info.frames:
            raise BadVideoError(path, f"has {info.frames} frames, frame {wanted[-1]} was asked")
        position = 0
        for index in wanted:
            if index - position > SEEK_GAP:
                cap.set(cv2.CAP_PROP_POS_FRAMES, index)
                position = int(cap.get(cv2.CAP_PROP_POS_FRAMES))
                if position != index:
                    raise BadVideoError(path, f"seeking to frame {index} landed on {position}")
            while position <= index:
                if not cap.grab():
                    raise BadVideoError(path, f"cannot decode frame {position} (of "
                                        f"{info.frames} announced): truncated or corrupt")
                position += 1
            ok, frame = cap.retrieve()
            if not ok or frame is None:
                raise BadVideoError(path, f"cannot decode frame {index}: truncated or corrupt")
            yield index, frame
    finally:
        cap.release()

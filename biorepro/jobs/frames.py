"""The frames stage: a few frames of one video, cropped and resized.

A bad video (unreadable, too short) gets an entry too, whose ``frames.json`` says
``"bad": true`` with the reason and which holds no frame: badness is a property of the
video's bytes and the parameters, so it is cached like any result; whether it stops the
workflow is decided by the split stage (``dataset.on_bad_video``).

Sources are checked against the key before anything is read: the video, the face-location
file (``crop: annotations``) and the detector (``crop: face``/``mtcnn``: its version and
weight files) must be those the entry was planned with.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from biorepro.data.faces import DetectorError, detector_identity
from biorepro.data.frames import ExtractParams, extract_video
from biorepro.data.videoio import BadVideoError
from biorepro.errors import Refusal
from biorepro.joblog import Log
from biorepro.store.hashing import file_digest
from biorepro.store.layouts import FRAMES


class SourceChangedError(Refusal, RuntimeError):
    """A video's bytes are not those its entry's key was planned from."""


def build(job: dict, out: Path, log: Log) -> dict:
    """Extract ``job["inputs"]["video"]`` with the entry's own parameters into ``out``."""
    inputs, planned = job["inputs"], job["ingredients"]["inputs"]
    for role in inputs:  # the video, and its annotation file when the crop reads one
        check_source(inputs[role], planned[role])
    params = ExtractParams.from_config(job["ingredients"]["params"])
    check_detector(params)
    video, annotations = inputs["video"], inputs.get("annotations")
    start = time.perf_counter()
    try:
        meta = extract_video(video, out, params, annotations)
    except BadVideoError as err:
        meta = {"bad": True, "reason": err.reason}
        (out / FRAMES.meta()).write_text(json.dumps(meta, indent=1) + "\n")
    log(f"frames {video}: " + (f"BAD ({meta['reason']})" if meta["bad"] else
                               f"{len(meta['frame_indices'])} frames, {meta['faces_missed']} "
                               f"without a face ({len(meta['fta_frames'])} FTA)")
        + f" in {time.perf_counter() - start:.2f} s")
    return {"video": video, "bad": meta["bad"],
            **({"annotations": annotations} if annotations else {})}


def check_detector(params: ExtractParams) -> None:
    """The installed face detector must be the one the key was planned with (name,
    version, weight files), else its detections could differ from what the key says."""
    found = detector_identity(params.crop, file_digest)
    if found != params.detector:
        raise DetectorError(f"extract.crop: {params.crop}: the installed detector {found} is "
                            f"not the one the workflow was planned with ({params.detector}); "
                            "run the workflow again")


def check_source(video: str, digest: str) -> None:
    """A source file (the video, its annotation file) must be there with the bytes its
    key was planned from: a file that vanished (unmounted storage, a move) must not be
    cached as a bad video."""
    if not Path(video).is_file():
        raise SourceChangedError(f"{video} no longer exists (it did when the workflow was "
                                 "planned); restore it, or run the workflow again")
    if file_digest(video) != digest:
        raise SourceChangedError(f"{video} changed since the workflow was planned; run the "
                                 "workflow again")

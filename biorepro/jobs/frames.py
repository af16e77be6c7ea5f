"""The frames stage job: extract every video of a batch into its own entry."""

from __future__ import annotations

from pathlib import Path

from biorepro.data.frames import ExtractJob, extract_many
from biorepro.store.hashing import file_digest
from biorepro.joblog import Log
from biorepro.store.entries import needs_building, write_receipt


class SourceChangedError(RuntimeError):
    """A video's bytes are not those its entry's key was planned from."""


def run(jobs: list[dict], log: Log) -> None:
    """Extract a batch of videos, one store entry each, each with its own parameters.

    A job is ``{"video", "out", "ingredients", "receipt"}``. The video's bytes are
    checked against the digest in the key first (a file changed or gone since planning
    would otherwise be extracted, or cached as bad, under the old key). A bad video is
    published as a marker entry (its badness is a property of its bytes and the
    parameters, so it is cached like any result); whether that stops the workflow is
    decided by the split stage from ``dataset.on_bad_video``.
    """
    todo = [j for j in jobs if needs_building(j["out"], [], log)]
    for j in todo:
        check_source(j["video"], j["ingredients"]["inputs"]["video"])
    extract_many([ExtractJob(Path(j["video"]), Path(j["out"]), j["ingredients"])
                  for j in todo], log=log)
    for j in jobs:
        write_receipt(j["receipt"], j["out"])


def check_source(video: str, digest: str) -> None:
    """The video must be there with the bytes its key was planned from: a file that
    vanished (unmounted storage, a move) must not be cached as a bad video."""
    if not Path(video).is_file():
        raise SourceChangedError(f"{video} no longer exists (it did when the workflow was "
                                 "planned); restore it, or run the workflow again")
    if file_digest(video) != digest:
        raise SourceChangedError(f"{video} changed since the workflow was planned; run the "
                                 "workflow again")

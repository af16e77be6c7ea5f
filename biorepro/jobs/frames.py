"""The frames stage job: extract every video of a batch into its own entry."""

from __future__ import annotations

from pathlib import Path

from biorepro.extract import ExtractJob, extract_many
from biorepro.joblog import Log


def run(jobs: list[dict], log: Log) -> None:
    """Extract a batch of videos, one store entry each, each with its own parameters.

    A bad video is published as a marker entry (its badness is a property of its bytes
    and the parameters, so it is cached like any result); whether that stops the
    workflow is decided by the split stage from ``dataset.on_bad_video``.
    """
    extract_many(
        [ExtractJob(Path(j["video"]), Path(j["out"]), j["ingredients"]) for j in jobs], log=log)

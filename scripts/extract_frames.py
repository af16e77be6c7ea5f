"""Snakemake adapter: extract the frames of a batch of videos (one entry each)."""

from biorepro.joblog import job_logger
from biorepro.jobs import frames

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    frames.run(snakemake.params.jobs, log)  # noqa: F821

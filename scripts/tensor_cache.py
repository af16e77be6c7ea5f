"""Snakemake adapter: build the per-split tensor cache entry."""

from biorepro.joblog import job_logger
from biorepro.jobs import tensors
from biorepro.store.entries import produce

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    produce(snakemake.params.job, snakemake.output[0], tensors.run, log)  # noqa: F821

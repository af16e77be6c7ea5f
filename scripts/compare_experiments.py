"""Snakemake adapter: paired comparisons between the configured experiments."""

from biorepro.joblog import job_logger
from biorepro.jobs import compare
from biorepro.store.entries import produce

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    produce(snakemake.params.job, snakemake.output[0], compare.run, log)  # noqa: F821

"""Snakemake adapter: build an experiment's summary entry (tables, figures, reports)."""

from biorepro.joblog import job_logger
from biorepro.jobs import summary
from biorepro.store.entries import produce

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    produce(snakemake.params.job, snakemake.output[0], summary.run, log)  # noqa: F821

"""Snakemake adapter: build an experiment's summary entry (tables, figures, reports)."""

from biorepro.joblog import job_logger
from biorepro.jobs import summary

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    job = snakemake.params.job  # noqa: F821
    summary.run(job["spec"], job["ingredients"], snakemake.output[0], log)  # noqa: F821

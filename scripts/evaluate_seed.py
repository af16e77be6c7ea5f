"""Snakemake adapter: error rates of one seed at one level (threshold chosen on devel)."""

from biorepro.joblog import job_logger
from biorepro.jobs import metrics
from biorepro.store.entries import produce

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    produce(snakemake.params.job, snakemake.output[0], metrics.run, log)  # noqa: F821

"""Snakemake adapter: error rates of one seed at one level (threshold chosen on devel)."""

from biorepro.joblog import job_logger
from biorepro.jobs import metrics

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    job = snakemake.params.job  # noqa: F821
    metrics.run(job["spec"], job["ingredients"], snakemake.output[0], log)  # noqa: F821

"""Snakemake adapter: paired comparisons between the configured experiments."""

from biorepro.joblog import job_logger
from biorepro.jobs import compare

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    job = snakemake.params.job  # noqa: F821
    compare.run(job["spec"], job["ingredients"], snakemake.output[0], log)  # noqa: F821

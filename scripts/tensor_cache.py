"""Snakemake adapter: build the per-split tensor cache entry."""

from biorepro.joblog import job_logger
from biorepro.jobs import tensors

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    job = snakemake.params.job  # noqa: F821
    tensors.run(job["spec"], job["ingredients"], snakemake.output[0], log)  # noqa: F821

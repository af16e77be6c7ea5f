"""Snakemake adapter: build the train/devel/test split folders entry."""

from biorepro.joblog import job_logger
from biorepro.jobs import split

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    job = snakemake.params.job  # noqa: F821
    split.run(job["spec"], job["ingredients"], snakemake.output[0], log)  # noqa: F821

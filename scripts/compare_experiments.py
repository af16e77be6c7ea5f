"""Snakemake adapter: paired comparisons between the configured experiments."""

from biorepro.joblog import job_logger
from biorepro.jobs import compare
from biorepro.store import needs_building, write_receipt

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    job = snakemake.params.job  # noqa: F821
    if needs_building(job["out"], job["inputs"], log):
        compare.run(job["spec"], job["ingredients"], job["out"], log)
    write_receipt(snakemake.output[0], job["out"])  # noqa: F821

"""Snakemake adapter: gather the per-seed determinism checks into one report."""

from biorepro.determinism_report import write_report
from biorepro.joblog import job_logger

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    write_report(snakemake.input, snakemake.output[0], log)  # noqa: F821

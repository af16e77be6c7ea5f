"""Snakemake adapter of every stage rule: run the rule's jobs (biorepro.jobs.run)."""

from biorepro.jobs.run import run_jobs

run_jobs(snakemake.params.jobs, snakemake.output[0], snakemake.log[0])  # noqa: F821

"""Snakemake adapter: gather the per-seed determinism checks into one report, shown in
the experiment's results view."""

import shutil
from pathlib import Path

from biorepro.aggregate.determinism_report import write_report
from biorepro.joblog import job_logger

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    write_report(snakemake.input, snakemake.output[0], log)  # noqa: F821
    view = Path(snakemake.params.view)  # noqa: F821
    if view.is_dir():
        shutil.copyfile(snakemake.output[0], view / "determinism.json")  # noqa: F821

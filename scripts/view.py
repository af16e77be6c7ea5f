"""Snakemake adapter: show an entry (summary or comparisons) in results/<name>/."""

from pathlib import Path

from biorepro.joblog import job_logger
from biorepro.store.view import publish_view

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    view = publish_view(snakemake.params.entry, snakemake.output.view)  # noqa: F821
    log(f"view: {view}/ shows {snakemake.params.entry}")  # noqa: F821
    Path(snakemake.output.receipt).write_text(f"{view}\n")  # noqa: F821

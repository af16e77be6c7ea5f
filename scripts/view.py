"""Snakemake adapter: show an entry (summary or comparisons) in results/<name>/, and
record the view as a root of the store (gc keeps what it shows)."""

import json
from pathlib import Path

from biorepro.aggregate.stagegraph import FILE as STAGE_GRAPH
from biorepro.aggregate.stagegraph import draw_stage_graph
from biorepro.joblog import job_logger
from biorepro.store import roots
from biorepro.store.view import publish_view

with job_logger(snakemake.log[0]) as log:  # noqa: F821 (injected by Snakemake)
    view = publish_view(snakemake.params.entry, snakemake.output.view)  # noqa: F821
    draw_stage_graph(json.loads(snakemake.params.graph), view / STAGE_GRAPH)  # noqa: F821
    roots.record_view(snakemake.params.store, view,  # noqa: F821
                      str(Path(snakemake.params.entry).resolve()),  # noqa: F821
                      json.loads(snakemake.params.closure))  # noqa: F821
    log(f"view: {view}/ shows {snakemake.params.entry}")  # noqa: F821

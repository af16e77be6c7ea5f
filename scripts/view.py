"""Snakemake adapter: show an entry (summary or comparisons) in results/<name>/, and
record the view as a root of the store (gc keeps what it shows)."""

import json
from pathlib import Path

from biorepro.aggregate.stagegraph import FILE as STAGE_GRAPH
from biorepro.aggregate.stagegraph import draw_stage_graph
from biorepro.joblog import job_logger
from biorepro.store import receipts, roots
from biorepro.store.view import publish_view

params = snakemake.params  # noqa: F821 (injected by Snakemake)
with job_logger(snakemake.log[0]) as log:  # noqa: F821
    shown = Path(receipts.input_path(json.loads(params.entry))).resolve()
    closure = [[stage, Path(receipts.input_path(leaf)).name, what]
               for stage, leaf, what in json.loads(params.closure)]
    view = publish_view(shown, snakemake.output.view)  # noqa: F821
    draw_stage_graph(json.loads(params.graph), view / STAGE_GRAPH)
    roots.record_view(params.store, view, str(shown), closure)
    log(f"view: {view}/ shows {shown}")

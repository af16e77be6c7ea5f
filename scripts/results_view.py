"""Snakemake adapter: show an entry (summary or comparisons) in results/<name>/."""

from biorepro.view import publish_view

publish_view(snakemake.params.entry, snakemake.output[0])  # noqa: F821 (injected)

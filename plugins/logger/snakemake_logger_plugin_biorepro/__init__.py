"""Snakemake logger plugin ``biorepro`` (``--logger biorepro``, set by biorepro's profiles):
one progress line per stage. The handler lives in :mod:`biorepro.console`."""

from biorepro.console import LogHandler

__all__ = ["LogHandler"]

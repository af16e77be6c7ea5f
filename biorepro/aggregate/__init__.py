"""Aggregation across seeds and experiments: statistics, comparisons, tables, figures, reports."""

"""Evaluation of one seed: error rates (bob.measure conventions), fusion, score files."""

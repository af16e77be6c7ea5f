"""Fingerprints of a model's weights (``.keras`` files are not byte-stable)."""

from __future__ import annotations

import hashlib

import numpy as np


def weights_fingerprint(model) -> str:
    """SHA-256 over every weight in order: name, dtype, shape, then the raw bytes."""
    h = hashlib.sha256()
    for w in model.weights:
        value = np.ascontiguousarray(w.numpy())
        h.update(f"{w.path}|{value.dtype.str}|{value.shape}\n".encode())
        h.update(value.tobytes())
    return h.hexdigest()


def max_abs_weight_diff(model_a, model_b) -> float:
    """Largest absolute difference between corresponding weights (inf if shapes differ)."""
    worst = 0.0
    if len(model_a.weights) != len(model_b.weights):
        return float("inf")
    for a, b in zip(model_a.weights, model_b.weights):
        va, vb = a.numpy(), b.numpy()
        if va.shape != vb.shape:
            return float("inf")
        if va.size:
            worst = max(worst, float(np.max(np.abs(va.astype(np.float64) - vb))))
    return worst

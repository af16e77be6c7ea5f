"""``tf.data`` pipelines over the memory-mapped tensor cache.

Only indices live in the pipeline; each batch is gathered from the memory map by a
``numpy_function``, so memory holds a few batches, never the whole split. Shuffling is
seeded from the job seed and reshuffled every epoch; batch order is deterministic.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from biorepro.data.tensors import SplitTensors


def balanced_weights(labels: np.ndarray) -> np.ndarray:
    """Per-class sample weights ``n / (2 n_c)``: both classes weigh the same in the loss
    (PAD sets have several attacks per bona fide video)."""
    counts = np.bincount(labels.astype(np.int64), minlength=2).astype(np.float64)
    per_class = np.where(counts > 0, len(labels) / (2 * np.maximum(counts, 1)), 0.0)
    return per_class[labels.astype(np.int64)].astype(np.float32)


def dataset(split: SplitTensors, batch_size: int, *, shuffle_seed: int | None = None,
            with_labels: bool = True, weights: np.ndarray | None = None) -> tf.data.Dataset:
    """Batches ``(images, labels)``, or ``(images, labels, weights)`` when ``weights``
    (one per sample) are given, or images only (``with_labels=False``)."""
    n = len(split)
    h, w, c = split.images.shape[1:]
    images, labels = split.images, split.labels.astype(np.float32)
    sample_w = np.ones(n, np.float32) if weights is None else weights

    def gather(idx):
        order = np.sort(idx)  # sequential reads of the memory map
        return np.asarray(images[order]), labels[order], sample_w[order]

    def load(idx):
        x, y, sw = tf.numpy_function(gather, [idx], (tf.uint8, tf.float32, tf.float32),
                                     stateful=False)
        x.set_shape((None, h, w, c))
        y.set_shape((None,))
        sw.set_shape((None,))
        if not with_labels:
            return x
        return (x, y) if weights is None else (x, y, sw)

    ds = tf.data.Dataset.range(n)
    if shuffle_seed is not None:
        ds = ds.shuffle(n, seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).map(load).prefetch(2)  # sequential map: deterministic order

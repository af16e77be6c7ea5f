"""``tf.data`` pipelines over the memory-mapped tensor cache.

Only indices live in the pipeline; each batch is gathered from the memory map by a
``numpy_function``, so memory holds a few batches, never the whole split. Shuffling is
seeded from the job seed and reshuffled every epoch; batch order is deterministic.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from biorepro.tensors import SplitTensors


def dataset(split: SplitTensors, batch_size: int, *, shuffle_seed: int | None = None,
            with_labels: bool = True) -> tf.data.Dataset:
    n = len(split)
    h, w, c = split.images.shape[1:]
    images, labels = split.images, split.labels.astype(np.float32)

    def gather(idx):
        order = np.sort(idx)  # sequential reads of the memory map
        return np.asarray(images[order]), labels[order]

    def load(idx):
        x, y = tf.numpy_function(gather, [idx], (tf.uint8, tf.float32), stateful=False)
        x.set_shape((None, h, w, c))
        y.set_shape((None,))
        return (x, y) if with_labels else x

    ds = tf.data.Dataset.range(n)
    if shuffle_seed is not None:
        ds = ds.shuffle(n, seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).map(load, deterministic=True).prefetch(2)

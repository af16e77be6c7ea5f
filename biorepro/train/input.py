"""Batches over the memory-mapped tensor cache, for any Keras backend.

:class:`CacheBatches` is a ``keras.utils.PyDataset``: TensorFlow and JAX get the same
batches in the same order from the same seeds. Only indices are held; each batch is
gathered from the memory map (indices sorted within the batch, for sequential reads),
so memory holds a few batches, never the whole split. Epoch ``e``'s order is a
permutation drawn from ``numpy.random.SeedSequence([shuffle_seed, e])``: reshuffled
every epoch, a pure function of the seed and the epoch (no framework generator). Without
a seed the cache's order is kept (devel, test, scoring).
"""

from __future__ import annotations

import math

import keras
import numpy as np

from biorepro.data.tensors import SplitTensors


def balanced_weights(groups: np.ndarray) -> np.ndarray:
    """Per-group sample weights ``n / (G n_g)`` (``G`` groups present): every group weighs
    the same in the loss, as sampling each group equally would in expectation (PAD sets
    have several attacks per bona fide video; multi-source sets, domains of unequal
    size). Groups are small non-negative integers, e.g. the labels."""
    groups = np.asarray(groups, np.int64)
    counts = np.bincount(groups).astype(np.float64)
    per_group = np.where(counts > 0, len(groups) / (np.count_nonzero(counts)
                                                     * np.maximum(counts, 1)), 0.0)
    return per_group[groups].astype(np.float32)


def balance_groups(split: SplitTensors, balance: str) -> np.ndarray | None:
    """Each frame's group under ``train.balance``: ``label`` (bona fide, attack),
    ``domain`` (the source domain of its video), ``label×domain`` (both); None for
    ``none`` (every frame weighs 1)."""
    if balance == "none":
        return None
    labels = split.labels.astype(np.int64)
    if balance == "label":
        return labels
    domains = np.unique(split.videos["domain"].to_numpy(str), return_inverse=True)[1]
    domain = domains[split.video_index].astype(np.int64)
    return domain if balance == "domain" else 2 * domain + labels


def epoch_order(n: int, shuffle_seed: int | None, epoch: int) -> np.ndarray:
    """The sample order of epoch ``epoch`` (from 0): a permutation of ``range(n)`` drawn
    from ``SeedSequence([shuffle_seed, epoch])``, or ``range(n)`` without a seed."""
    if shuffle_seed is None:
        return np.arange(n)
    rng = np.random.default_rng(np.random.SeedSequence([shuffle_seed, epoch]))
    return rng.permutation(n)


class CacheBatches(keras.utils.PyDataset):
    """Batches ``(images, labels)``, or ``(images, labels, weights)`` when ``weights``
    (one per sample) are given, or images only (``with_labels=False``); images uint8
    ``(B, H, W, C)``, labels and weights float32 ``(B,)``.

    The batches of ``epochs`` epochs form one sequence, epoch ``first_epoch + j //
    steps_per_epoch`` in its order: batch ``j`` is a pure function of ``j``, so neither
    Keras' prefetching nor the number of times a backend restarts or peeks at the data
    can change what an epoch sees. Fit it with ``steps_per_epoch``."""

    def __init__(self, split: SplitTensors, batch_size: int, *, shuffle_seed: int | None = None,
                 epochs: int = 1, first_epoch: int = 0, with_labels: bool = True,
                 weights: np.ndarray | None = None):
        super().__init__(workers=1, use_multiprocessing=False)
        self.images, self.labels = split.images, split.labels.astype(np.float32)
        self.weights = None if weights is None else np.asarray(weights, np.float32)
        self.batch_size, self.shuffle_seed, self.with_labels = batch_size, shuffle_seed, with_labels
        self.steps_per_epoch = math.ceil(len(self.labels) / batch_size)
        self.epochs, self.first_epoch = epochs, first_epoch
        self._order: tuple[int, np.ndarray] | None = None  # (epoch, its order), last used

    def __len__(self) -> int:
        return self.epochs * self.steps_per_epoch

    def order(self, epoch: int) -> np.ndarray:
        """The sample order of ``epoch`` (:func:`epoch_order`), kept for the next batch."""
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, epoch_order(len(self.labels), self.shuffle_seed, epoch))
        return self._order[1]

    def __getitem__(self, j: int):
        epoch, i = divmod(j, self.steps_per_epoch)
        order = self.order(self.first_epoch + epoch)
        idx = np.sort(order[i * self.batch_size:(i + 1) * self.batch_size])
        x = np.asarray(self.images[idx])
        if not self.with_labels:
            return x
        if self.weights is None:
            return x, self.labels[idx]
        return x, self.labels[idx], self.weights[idx]

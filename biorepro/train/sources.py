"""Each source of training randomness seeded on its own (Keras 3, TensorFlow or JAX).

How Keras 3 and TensorFlow draw randomness (``keras/src/random/seed_generator.py``, the
initializers, ``Dropout`` and the preprocessing layers):

- an initializer or a layer created without a seed draws an integer seed from Python's
  ``random`` when it is *constructed* (``make_default_seed``); initial weights are then a
  stateless function of that integer. A layer's ``SeedGenerator`` (dropout masks, random
  augmentation) starts from such an integer and advances its state variable at each call;
- ``keras.random`` functions called without a seed use Keras' global ``SeedGenerator``;
- the batch order is drawn by NumPy from the order seed and the epoch alone
  (:func:`biorepro.train.input.epoch_order`), on either backend.

Hence, for a run's seeds (:class:`biorepro.train.randomness.Run`):

1. ``init``: ``keras.utils.set_random_seed(init)`` before the model is constructed;
2. ``noise``: every ``SeedGenerator`` of the model's layers then gets a new state derived
   from ``noise`` and its place in the model (:func:`reseed_noise`), so that dropout masks
   and augmentation do not follow ``init``;
3. ``order``: each epoch's permutation drawn from ``SeedSequence([order, epoch])``;
4. ``set_random_seed(noise)`` before fitting: whatever still draws on a global generator
   during training follows ``noise``.

With ``train.determinism: off`` only step 3 is applied (the data order stays seeded;
initialisation and noise are left to chance).
"""

from __future__ import annotations

import keras
import numpy as np

SEEDED_MODES = ("strict", "seeded")


def seed_generators(model: keras.Model) -> list:
    """The ``SeedGenerator`` objects of ``model``'s layers, nested ones included, in the
    model's own (deterministic) traversal order."""
    found, seen = [], set()
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for gen in getattr(layer, "_seed_generators", ()):
            if id(gen) not in seen:
                seen.add(id(gen))
                found.append(gen)
    return found


def reseed_noise(model: keras.Model, noise: int) -> int:
    """Give the ``i``-th seed generator of ``model`` the state ``[s_i, 0]``, ``s_i`` drawn
    from ``numpy.random.SeedSequence([noise, i])``; returns how many were reseeded."""
    generators = seed_generators(model)
    for i, gen in enumerate(generators):
        start = int(np.random.SeedSequence([noise, i]).generate_state(1)[0])
        gen.state.assign(np.array([start, 0], dtype=gen.state.dtype))
    return len(generators)


def reset() -> None:
    """Clear Keras' global state (layer name counters, global seed generator, dtype
    policy) and free the previous run's models, so that a run trained after another in
    the same process starts as it would alone."""
    keras.backend.clear_session(free_memory=True)


def set_global(seed: int, mode: str) -> None:
    """Seed Python's, NumPy's, TensorFlow's and Keras' global generators (in the seeded
    modes only)."""
    if mode in SEEDED_MODES:
        keras.utils.set_random_seed(seed)

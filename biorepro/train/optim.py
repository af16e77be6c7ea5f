"""Optimisers, learning-rate schedules and the loss, from the ``train`` settings.

- ``optimizer.name``: ``adam``; ``adamw`` (Adam with decoupled weight decay,
  ``optimizer.weight_decay``, Keras' 0.004 when null); ``sgd`` with
  ``optimizer.momentum`` (and ``optimizer.nesterov``). A ``weight_decay`` given for
  adam or sgd is applied the same decoupled way.
- ``schedule.name`` over a phase of ``epochs`` epochs of ``steps`` batches: ``constant``;
  ``cosine`` (from the rate down to 0 at the phase's last step); ``step`` (multiplied by
  ``schedule.factor`` every ``schedule.every`` epochs).
- loss: binary cross-entropy on P(bona fide), label 1 = bona fide, with
  ``label_smoothing`` ε (targets ``y (1 - ε) + ε / 2``; equal to the categorical
  cross-entropy of a two-unit softmax with the same smoothing).
"""

from __future__ import annotations

import keras

ADAMW_DEFAULT_DECAY = 0.004  # keras.optimizers.AdamW's default


def schedule(settings: dict, rate: float, epochs: int, steps: int):
    """The learning rate of ``settings`` (``train.schedule``): a float or a schedule."""
    name = settings["name"]
    if name == "constant":
        return rate
    if name == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, decay_steps=max(1, epochs * steps))
    every = settings["every"]
    boundaries = [k * every * steps for k in range(1, (epochs - 1) // every + 1)]
    if not boundaries:
        return rate
    values = [rate * settings["factor"] ** k for k in range(len(boundaries) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


def optimizer(settings: dict, learning_rate) -> keras.optimizers.Optimizer:
    """The optimiser of ``settings`` (``train.optimizer``) at ``learning_rate``."""
    name, decay = settings["name"], settings["weight_decay"]
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate,
                                      weight_decay=ADAMW_DEFAULT_DECAY if decay is None else decay)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=decay)
    return keras.optimizers.SGD(learning_rate, momentum=settings["momentum"],
                                nesterov=settings["nesterov"], weight_decay=decay)


def loss(label_smoothing: float) -> keras.losses.Loss:
    """Binary cross-entropy with ``label_smoothing``."""
    return keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)

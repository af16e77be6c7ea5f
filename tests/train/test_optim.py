"""Optimisers, learning-rate schedules and label smoothing."""

import keras
import numpy as np
import pytest

from biorepro.train import optim

ADAM = {"name": "adam", "weight_decay": None, "momentum": 0.9, "nesterov": False}


def rate_at(lr, step: int) -> float:
    return float(lr(step)) if callable(lr) else lr


def test_schedules_over_a_phase():
    steps, epochs = 10, 20
    assert optim.schedule({"name": "constant"}, 0.1, epochs, steps) == 0.1
    cosine = optim.schedule({"name": "cosine"}, 0.1, epochs, steps)
    assert rate_at(cosine, 0) == pytest.approx(0.1)
    assert rate_at(cosine, epochs * steps // 2) == pytest.approx(0.05)
    assert rate_at(cosine, epochs * steps) == pytest.approx(0.0, abs=1e-7)
    step = optim.schedule({"name": "step", "every": 8, "factor": 0.5}, 0.1, epochs, steps)
    assert [rate_at(step, e * steps + 1) for e in (0, 7, 8, 15, 16, 19)] == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert optim.schedule({"name": "step", "every": 30, "factor": 0.5}, 0.1, epochs, steps) == 0.1


def test_optimizers():
    assert isinstance(optim.optimizer(ADAM, 0.1), keras.optimizers.Adam)
    adamw = optim.optimizer({**ADAM, "name": "adamw"}, 0.1)
    assert isinstance(adamw, keras.optimizers.AdamW)
    assert adamw.weight_decay == optim.ADAMW_DEFAULT_DECAY
    assert optim.optimizer({**ADAM, "name": "adamw", "weight_decay": 0.05}, 0.1).weight_decay \
        == 0.05
    sgd = optim.optimizer({**ADAM, "name": "sgd", "nesterov": True}, 0.1)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.momentum == 0.9 and sgd.nesterov


def test_label_smoothing_equals_the_two_class_categorical_loss():
    y = np.array([1, 0, 1, 1], "float32")
    p = np.array([0.9, 0.2, 0.4, 0.99], "float32")
    binary = float(optim.loss(0.1)(y[:, None], p[:, None]))
    two = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(
        np.stack([1 - y, y], 1), np.stack([1 - p, p], 1))
    assert binary == pytest.approx(float(two), rel=1e-5)
    assert binary > float(optim.loss(0.0)(y[:, None], p[:, None]))

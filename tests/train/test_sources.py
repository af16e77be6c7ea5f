"""Each source of training randomness moves only what it seeds: initial weights (init),
batch order (order), dropout masks and augmentation (noise)."""

import keras
import numpy as np
import pytest

from biorepro.data.tensors import load_split
from biorepro.train.fit import seeded_model, train_pipeline
from biorepro.train.sources import reseed_noise, reset, seed_generators
from biorepro.train.weights import weights_fingerprint
from tests.conftest import make_tensor_cache, train_setup

SETTINGS = {"model_params": {"widths": [4, 8], "dropout": 0.5}, "batch_size": 8,
            "augment": {"flip": True, "zoom": 0.1}, "threads": 1}
IMAGES = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3)).astype("float32")


def seeds(init=0, order=0, noise=0):
    return {"init": init, "order": order, "noise": noise, "replicate": 0}


def model(run, mode="strict"):
    params, runtime = train_setup(16, **{**SETTINGS, "determinism": mode})
    reset()
    return seeded_model(params, runtime, (16, 16, 3), run)


def initial(run) -> str:
    return weights_fingerprint(model(run))


def noise_draws(run) -> np.ndarray:
    """What the model computes in training mode (dropout and augmentation on) from its
    initial weights: its noise, as the initial weights are set by ``init``."""
    return keras.ops.convert_to_numpy(model(run)(IMAGES, training=True))


@pytest.fixture(scope="module")
def train_split(tmp_path_factory):
    return load_split(make_tensor_cache(tmp_path_factory.mktemp("cache")), "train")


def batch_order(train_split, run) -> list:
    """The labels of the first two epochs' batches, in order: the order."""
    ds = train_pipeline(train_split, 8, run, epochs=2)
    steps = ds.steps_per_epoch
    return [np.concatenate([ds[e * steps + i][1] for i in range(steps)]).tolist()
            for e in range(2)]


def test_init_seeds_the_initial_weights_alone():
    base = initial(seeds())
    assert initial(seeds(order=5)) == base and initial(seeds(noise=5)) == base
    assert initial(seeds(init=5)) != base


def test_noise_seeds_dropout_and_augmentation_alone():
    base = noise_draws(seeds())
    np.testing.assert_array_equal(noise_draws(seeds(order=5)), base)
    assert not np.array_equal(noise_draws(seeds(noise=5)), base)
    # init changes the weights, hence the outputs, but not the noise generators' states
    states = [keras.ops.convert_to_numpy(g.state) for g in seed_generators(model(seeds()))]
    other = [keras.ops.convert_to_numpy(g.state) for g in seed_generators(model(seeds(init=5)))]
    assert len(states) >= 3  # dropout, flip, zoom
    assert all(np.array_equal(a, b) for a, b in zip(states, other))


def test_order_seeds_the_batch_order_alone(train_split):
    base = batch_order(train_split, seeds())
    assert base[0] != base[1], "reshuffled every epoch"
    assert batch_order(train_split, seeds(init=5, noise=5)) == base
    assert batch_order(train_split, seeds(order=5)) != base


def test_reseeding_gives_each_generator_its_own_state():
    m = model(seeds())
    n = reseed_noise(m, 3)
    states = [tuple(keras.ops.convert_to_numpy(g.state)) for g in seed_generators(m)]
    assert n == len(states) and len(set(states)) == n
    assert all(s[1] == 0 for s in states)


def test_off_mode_leaves_initialisation_to_chance_and_keeps_the_order(train_split):
    assert initial(seeds()) != weights_fingerprint(model(seeds(), mode="off"))
    assert batch_order(train_split, seeds()) == batch_order(train_split, seeds())

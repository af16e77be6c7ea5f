"""Building models: built-in backbones with their preprocessing and weights files, user
model files and their errors, augmentation seeding, BatchNorm under fine-tuning."""


import keras
import numpy as np
import pytest

from biorepro.train import model as models
from biorepro.train.augment import augmentation, layer_seed
from biorepro.train.catalog import ModelError
from biorepro.train.fit import backbone_of, freeze
from biorepro.train.weights import model_weights
from tests.conftest import train_setup

IMAGES = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype("float32")


def build(image_size=32, noise_seed=0, **train):
    params, runtime = train_setup(image_size=image_size, **train)
    return models.build_model(params, runtime, (image_size, image_size, 3), noise_seed)



@pytest.mark.parametrize("mode, application", [("tf", "mobilenet_v2"), ("caffe", "resnet"),
                                               ("tf", "xception")])
def test_preprocess_layer_is_the_backbones_preprocess_input(mode, application):
    expected = getattr(keras.applications, application).preprocess_input(IMAGES.copy())
    got = keras.ops.convert_to_numpy(models.Preprocess(mode)(IMAGES))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("name, size", [("mobilenet_v2", 32), ("efficientnet_b0", 32),
                                        ("resnet50", 32), ("xception", 71)])
def test_each_backbone_builds_and_loads_a_weights_file(tmp_path, monkeypatch, name, size):
    """Weights saved from a freshly built backbone load back into the planned model."""
    monkeypatch.chdir(tmp_path)
    keras.utils.set_random_seed(1)
    params, _ = train_setup(image_size=size, model=name)
    source = models.pretrained(name, (size, size, 3), **params["model_params"])
    backbone_of(source).save_weights(tmp_path / "b.weights.h5")
    keras.utils.set_random_seed(2)
    model = build(size, model=name, weights="b.weights.h5")
    assert model.output.shape == (None, 1)
    loaded, saved = model_weights(backbone_of(model)), model_weights(backbone_of(source))
    assert len(loaded) == len(saved)  # names differ: Keras numbers layers per process
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(loaded, saved))
    out = keras.ops.convert_to_numpy(model(IMAGES[:, :size, :size] if size <= 32 else
                                           np.resize(IMAGES, (2, size, size, 3))))
    assert np.all((out >= 0) & (out <= 1))


def test_user_model_sigmoid_and_softmax(user_models):
    sig = build(model="models/tiny_net.py:build", model_params={"width": 2})
    soft = build(model="models/tiny_net.py:build", model_params={"width": 2, "softmax": True})
    assert sig.output.shape == soft.output.shape == (None, 1)
    inner = soft.layers[-3]
    full = keras.ops.convert_to_numpy(inner(IMAGES))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(soft(IMAGES)), full[:, 1:2])


@pytest.mark.parametrize("function, message", [
    ("broken", r"tiny_net.py:broken raised RuntimeError: width must be even"),
    ("three_outputs", r"tiny_net.py must output shape \(batch, 1\).*\(None, 3\)"),
])
def test_user_model_errors_name_the_file(user_models, function, message):
    with pytest.raises(ModelError, match=message):
        build(model=f"models/tiny_net.py:{function}")


def test_a_weights_file_that_does_not_fit_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    models.xception_small((32, 32, 3), widths=(4, 8)).save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ModelError, match="w.weights.h5 does not fit the model"):
        build(weights="w.weights.h5", model_params={"widths": [8, 16]})


def test_augmentation_is_seeded_per_layer_and_off_at_inference():
    settings = {"flip": True, "rotation": 0.1, "zoom": 0.1, "translation": 0.1,
                "brightness": 0.2, "contrast": 0.3}

    def draw(seed):
        return keras.ops.convert_to_numpy(augmentation(settings, seed)(IMAGES, training=True))

    a, b, c = draw(5), draw(5), draw(6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    layer = augmentation(settings, 5)
    assert np.array_equal(keras.ops.convert_to_numpy(layer(IMAGES, training=False)), IMAGES)
    assert augmentation({"flip": False, "zoom": 0}, 5) is None
    assert layer_seed(5, "zoom") != layer_seed(5, "flip") != layer_seed(6, "flip")
    only_flip = augmentation({"flip": True}, 5).layers[0]
    assert only_flip.seed == layer.layers[0].seed, "adding augmentations keeps each one's draws"


def _bn_base():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3)(inputs)
    x = keras.layers.BatchNormalization()(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="backbone")


def test_frozen_batchnorm_runs_in_inference_mode_unlike_the_naive_freeze():
    """The naive freeze (weights frozen, BatchNorm left trainable) computes another function
    in training than in inference: batch statistics instead of the moving ones. Ours
    (:func:`freeze`) computes the same, in both phases."""
    keras.utils.set_random_seed(0)
    base = _bn_base()
    bn = next(layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization))
    bn.moving_mean.assign(np.full(4, 3.0, "float32"))  # pretrained statistics
    bn.moving_variance.assign(np.full(4, 9.0, "float32"))
    x = np.random.default_rng(0).normal(0, 1, (16, 8, 8, 3)).astype("float32")

    def gap():
        train = keras.ops.convert_to_numpy(base(x, training=True))
        infer = keras.ops.convert_to_numpy(base(x, training=False))
        return float(np.max(np.abs(train - infer)))

    for layer in base.layers:  # naive: conv frozen, BatchNorm still trainable
        layer.trainable = isinstance(layer, keras.layers.BatchNormalization)
    assert gap() > 0.5
    freeze(base, 0)
    assert gap() == 0.0 and not base.trainable_weights
    freeze(base, "all")
    assert gap() == 0.0 and base.trainable_weights and not bn.trainable


def test_freeze_unfreezes_the_top_layers_only():
    base = _bn_base()
    freeze(base, 2)
    assert [layer.trainable for layer in base.layers] == [False, False, False, True]
    with pytest.raises(ModelError, match="no nested model named 'backbone'"):
        backbone_of(models.xception_small((32, 32, 3), widths=(4, 8)))

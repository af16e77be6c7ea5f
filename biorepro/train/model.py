"""Building the model a training key describes (see :mod:`biorepro.train.catalog`).

Every model takes RGB images with values 0-255 and outputs P(bona fide) in [0, 1] as one
float32 unit. It is assembled as: input → augmentation (training only, see
:mod:`biorepro.train.augment`) → the network → a float32 output. The network is:

- ``xception_small``: the Keras example "Image classification from scratch": an entry
  convolution, residual blocks of two SeparableConv2D + BatchNorm + ReLU with a strided
  1×1 convolution on the shortcut, a final SeparableConv2D, global average pooling,
  dropout and a sigmoid unit. ``widths`` are the entry width then one width per block;
  the example's are ``[128, 256, 512, 728]`` (final layer 1024 = 1.4 × 728 rounded up to
  a multiple of 8, the rule used here).
- a ``keras.applications`` backbone (MobileNetV2, EfficientNetB0, ResNet50, Xception)
  without its top, preceded by its own ``preprocess_input`` as a layer
  (:class:`Preprocess`), named ``backbone`` and always called with ``training=False`` so
  that its BatchNorm layers use their moving statistics (the Keras transfer-learning
  recipe), then global average pooling, dropout and a sigmoid unit.
- a user's function: its model as returned; two softmax outputs are reduced to the
  bona fide one (index 1), which makes binary cross-entropy equal to the categorical
  one.

Layers draw their initial weights from Keras' seed generator, which
``keras.utils.set_random_seed`` resets, so no per-layer seed is needed.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import keras
from keras import layers, ops

from biorepro.train.augment import augmentation
from biorepro.train.catalog import BUILTIN, ModelError

# Keras' default (0.99) needs thousands of steps before the moving statistics used at
# inference settle; PAD training sets are small, so they follow the batches faster.
BN_MOMENTUM = 0.9
BACKBONE = "backbone"  # name of the pretrained part that train.finetune freezes
IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)  # keras.applications "caffe" mode


@keras.saving.register_keras_serializable(package="biorepro")
class Preprocess(layers.Layer):
    """A backbone's ``preprocess_input`` on RGB 0-255 images: ``tf`` scales to [-1, 1],
    ``caffe`` reorders to BGR and subtracts the ImageNet mean, ``none`` passes through."""

    def __init__(self, mode: str, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("tf", "caffe", "none"):
            raise ValueError(f"Preprocess: unknown mode {mode!r}")
        self.mode = mode

    def call(self, x):
        """The preprocessed images."""
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "caffe":
            return ops.flip(x, axis=-1) - ops.convert_to_tensor(IMAGENET_BGR_MEAN, x.dtype)
        return x

    def get_config(self):
        """The layer's config (for ``model.json``)."""
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="biorepro")
class BonafideColumn(layers.Layer):
    """Column 1 (bona fide) of a two-unit softmax output, kept two-dimensional."""

    def call(self, x):
        """``x[:, 1:2]``."""
        return x[:, 1:2]


def _final_width(last: int) -> int:
    return int(math.ceil(1.4 * last / 8) * 8)


def xception_small(input_shape, widths=(16, 32, 64), dropout=0.25) -> keras.Model:
    """The model of the module docstring for images of ``input_shape`` (H, W, channels),
    values 0-255; ``widths`` needs 2 or more; outputs P(bona fide) in [0, 1]."""
    if len(widths) < 2:
        raise ModelError(f"train.model_params.widths: need an entry width and at least one "
                         f"block, got {list(widths)}")
    inputs = keras.Input(shape=tuple(input_shape))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(widths[0], 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.Activation("relu")(x)
    previous = x
    for width in widths[1:]:
        for _ in range(2):
            x = layers.Activation("relu")(x)
            x = layers.SeparableConv2D(width, 3, padding="same")(x)
            x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(width, 1, strides=2, padding="same")(previous)
        x = layers.add([x, residual])
        previous = x
    x = layers.SeparableConv2D(_final_width(widths[-1]), 3, padding="same")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.Activation("relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="xception_small")


def pretrained(name: str, input_shape, weights_file: str | None = None, dropout=0.2,
               **params) -> keras.Model:
    """Built-in ``keras.applications`` backbone ``name`` with a sigmoid head; its weights
    from ``weights_file`` (no top), random when None."""
    spec = BUILTIN[name]
    application = getattr(keras.applications, spec.application)
    backbone = application(include_top=False, weights=weights_file,
                           input_shape=tuple(input_shape), name=BACKBONE, **params)
    inputs = keras.Input(shape=tuple(input_shape))
    x = Preprocess(spec.preprocess)(inputs)
    x = backbone(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name=name)


def load_function(path: str | Path, function: str):
    """``function`` of the user's file ``path`` (imported by :func:`import_file`)."""
    fn = getattr(import_file(path), function, None)
    if not callable(fn):
        raise ModelError(f"train.model: {path} has no function {function!r}")
    return fn


def import_file(path: str | Path):
    """The user's module ``path``, imported with the file's folder first on ``sys.path``
    (so its own modules are found as they were fingerprinted)."""
    path = Path(path)
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        raise ModelError(f"train.model: importing {path} failed: {type(err).__name__}: "
                         f"{err}") from err
    return module


def network(params: dict, runtime: dict, input_shape) -> keras.Model:
    """The network of the key's ``model``, ``model_params`` and ``weights``; the files
    it reads are ``runtime['model_file']`` and ``runtime['weights_file']``."""
    model, mp, weights_file = params["model"], params["model_params"], runtime["weights_file"]
    if "builtin" in model and BUILTIN[model["builtin"]].application:
        return pretrained(model["builtin"], input_shape, weights_file, **mp)
    if "builtin" in model:
        net, where = xception_small(input_shape, **mp), model["builtin"]
    else:
        where = f"{runtime['model_file']}:{model['function']}"
        build = load_function(runtime["model_file"], model["function"])
        try:
            net = build(tuple(input_shape), **mp)
        except Exception as err:
            raise ModelError(f"train.model: {where} raised {type(err).__name__}: {err}") from err
        if not isinstance(net, keras.Model):
            raise ModelError(f"train.model: {where} returned {type(net).__name__}, not a "
                             "keras.Model")
    if weights_file:
        try:
            net.load_weights(weights_file)
        except Exception as err:
            raise ModelError(f"train.weights: {weights_file} does not fit the model of "
                             f"{where}: {err}") from err
    return net


def build_model(params: dict, runtime: dict, input_shape, noise_seed: int) -> keras.Model:
    """The full model (module docstring): augmentation seeded from ``noise_seed``, the
    network, a float32 P(bona fide) output. Fails naming the model when its output is
    neither one sigmoid unit nor two softmax units."""
    net = network(params, runtime, input_shape)
    where = runtime["model_file"] or params["model"]["builtin"]
    shape = tuple(net.output.shape) if not isinstance(net.output, list) else None
    if shape is None or len(shape) != 2 or shape[1] not in (1, 2):
        raise ModelError(f"train.model: {where} must output shape (batch, 1) (sigmoid) or "
                         f"(batch, 2) (softmax, index 1 = bona fide); it outputs "
                         f"{shape if shape is not None else 'several tensors'}")
    inputs = keras.Input(shape=tuple(input_shape))
    x = inputs
    augment = augmentation(params["augment"], noise_seed)
    if augment is not None:
        x = augment(x)
    y = net(x)
    if shape[1] == 2:
        y = BonafideColumn()(y)
    outputs = layers.Activation("linear", dtype="float32", name="p_bonafide")(y)
    return keras.Model(inputs, outputs, name="biorepro")

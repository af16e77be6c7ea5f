"""Model builders: plain functions returning a functional Keras model.

``xception_small`` follows the Keras example "Image classification from scratch": an
entry convolution, residual blocks of two SeparableConv2D + BatchNorm + ReLU with a
strided 1×1 convolution on the shortcut, a final SeparableConv2D, global average
pooling, dropout and a sigmoid unit (the probability of *bona fide*). ``widths`` are
the entry width then one width per block; the example's are ``[128, 256, 512, 728]``
(final layer 1024 = 1.4 × 728 rounded up to a multiple of 8, the rule used here).
Layers draw their initial weights from Keras' seed generator, which
``keras.utils.set_random_seed`` resets, so no per-layer seed is needed.
"""

from __future__ import annotations

import math

import keras
from keras import layers

# Keras' default (0.99) needs thousands of steps before the moving statistics used at
# inference settle; PAD training sets are small, so they follow the batches faster.
BN_MOMENTUM = 0.9


def _final_width(last: int) -> int:
    return int(math.ceil(1.4 * last / 8) * 8)


def xception_small(input_shape, widths=(16, 32, 64), dropout=0.25) -> keras.Model:
    """The model of the module docstring for images of ``input_shape`` (H, W, channels),
    values 0-255; ``widths`` needs 2 or more; outputs P(bona fide) in [0, 1]."""
    if len(widths) < 2:
        raise ValueError(f"train.widths: need an entry width and at least one block, got {widths}")
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


# name -> builder(input_shape, widths=..., dropout=...); other backbones register here.
BACKBONES = {"xception_small": xception_small}


def build_model(backbone: str, input_shape, **kwargs) -> keras.Model:
    """The :data:`BACKBONES` model named ``backbone`` (``train.backbone``), kwargs passed on."""
    if backbone not in BACKBONES:
        raise ValueError(f"train.backbone: {backbone!r} is not one of {', '.join(BACKBONES)}")
    return BACKBONES[backbone](input_shape, **kwargs)

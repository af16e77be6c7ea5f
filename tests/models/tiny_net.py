"""A user model file as a researcher writes one: ``build(input_shape, **model_params)``."""

import keras
from blocks import Brightness, conv_block
from keras import layers


def build(input_shape, width=4, softmax=False):
    """A two-block CNN; ``softmax``: two softmax outputs (index 1 bona fide) instead of
    one sigmoid."""
    inputs = keras.Input(shape=input_shape)
    x = layers.Rescaling(1 / 255)(inputs)
    x = conv_block(x, width)
    x = conv_block(x, 2 * width)
    x = layers.GlobalAveragePooling2D()(x)
    if softmax:
        return keras.Model(inputs, layers.Dense(2, activation="softmax")(x))
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))


def broken(input_shape):
    """Raises, as a model function with a bug does."""
    raise RuntimeError("width must be even")


def three_outputs(input_shape):
    """A model with the wrong output shape."""
    inputs = keras.Input(shape=input_shape)
    x = layers.GlobalAveragePooling2D()(inputs)
    return keras.Model(inputs, layers.Dense(3, activation="softmax")(x))


def own_layer(input_shape):
    """A model with a layer of the user's own (``blocks.Brightness``)."""
    inputs = keras.Input(shape=input_shape)
    x = layers.Rescaling(1 / 255)(inputs)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(Brightness()(x)))

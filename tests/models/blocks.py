"""A module of the user's folder that the model file imports."""

from keras import layers


def conv_block(x, width):
    """Convolution, BatchNorm, ReLU, 2x2 max pooling."""
    x = layers.Conv2D(width, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    return layers.MaxPooling2D(2)(x)

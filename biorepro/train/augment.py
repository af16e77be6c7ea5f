"""Data augmentation as Keras preprocessing layers at the front of the model.

``train.augment`` settings, each off at 0 / false, applied in this order, only while
training (inference passes images through unchanged):

- ``flip``: horizontal flip with probability 1/2 (faces are left-right symmetric; a
  vertical flip is not a plausible capture);
- ``rotation``: uniform angle in ±``rotation`` × 360°;
- ``zoom``: uniform in/out zoom by up to ±``zoom`` of the side;
- ``translation``: uniform shift by up to ±``translation`` of the side, each axis;
- ``brightness``: add a uniform ±``brightness`` × 255 to every pixel;
- ``contrast``: scale deviations from the image mean by a uniform 1 ± ``contrast``.

Geometric transforms fill by reflection. Each layer has its own seed, derived from the
run's noise seed and the layer's name, so a retrain draws the same transformations and
adding one augmentation does not change the draws of the others.
"""

from __future__ import annotations

import hashlib

import keras
from keras import layers

VALUE_RANGE = (0, 255)
ORDER = ("flip", "rotation", "zoom", "translation", "brightness", "contrast")


def layer_seed(seed: int, name: str) -> int:
    """A 31-bit seed for augmentation ``name`` from the run's seed."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def _layer(name: str, amount, seed: int):
    if name == "flip":
        return layers.RandomFlip("horizontal", seed=seed, name="augment_flip")
    if name == "rotation":
        return layers.RandomRotation(amount, seed=seed, name="augment_rotation")
    if name == "zoom":
        return layers.RandomZoom(amount, seed=seed, name="augment_zoom")
    if name == "translation":
        return layers.RandomTranslation(amount, amount, seed=seed, name="augment_translation")
    if name == "brightness":
        return layers.RandomBrightness(amount, value_range=VALUE_RANGE, seed=seed,
                                       name="augment_brightness")
    return layers.RandomContrast(amount, value_range=VALUE_RANGE, seed=seed,
                                 name="augment_contrast")


def augmentation(settings: dict, seed: int) -> keras.Sequential | None:
    """The augmentation layers of ``settings`` (``train.augment``) seeded from ``seed``,
    or None when every one is off."""
    unknown = set(settings) - set(ORDER)
    if unknown:
        raise ValueError(f"train.augment: unknown {', '.join(sorted(unknown))}")
    chosen = [_layer(n, settings[n], layer_seed(seed, n)) for n in ORDER if settings.get(n)]
    return keras.Sequential(chosen, name="augment") if chosen else None

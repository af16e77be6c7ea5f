"""Replay cues and capture nuisances, each with a strength drawn per video.

A replay shows a client's face on a medium (paper or screen) placed in front of the
camera. Cues: the medium's border and the scene around it, reduced dynamic range, a
colour cast, print halftone or screen moiré, specular glare, and flatness (the face
moves only with the medium). Nuisances, applied to bona fide videos too: sensor
noise, exposure and colour drift, blur. ``difficulty`` weakens cues and strengthens
nuisances, so that the classes overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from biorepro.synth.faces import H, W


@dataclass(frozen=True)
class Medium:
    """A replay medium (paper or screen) and its cues; ``offset`` (x, y) and sizes in
    pixels, ``border`` the medium's BGR colour (0-255)."""

    instrument: str        # print | mobile | highdef
    hand: bool             # hand-held (shakes) or fixed
    scale: float           # medium size relative to the frame (>1: fills it, no border)
    offset: tuple[float, float]
    contrast: float        # dynamic-range factor (1 = none)
    cast: np.ndarray       # per-channel gain (BGR)
    pattern: np.ndarray    # multiplicative halftone / moire pattern, H x W x 3 (BGR)
    glare: np.ndarray      # additive specular patch, H x W
    border: tuple[float, float, float]


def draw_medium(rng: np.random.Generator, instrument: str, hand: bool, cue: float) -> Medium:
    """A medium whose cue strengths scale with ``cue`` in [0, 1].

    Halftone and moire are drawn as the camera records them, beating with its sensor
    grid: periods of 8-20 pixels, so that they survive downscaling to the network's input."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    u = xx * np.cos(angle) + yy * np.sin(angle)
    if instrument == "print":
        period = rng.uniform(8.0, 14.0)
        v = -xx * np.sin(angle) + yy * np.cos(angle)
        dots = np.sin(2 * np.pi * u / period) * np.sin(2 * np.pi * v / period)
        pattern = np.repeat((1 + 0.3 * cue * dots)[..., None], 3, axis=2)  # dots: std 1/2
        cast = np.array([0.9, 1.0, 1.08]) ** cue
        contrast = 1 - 0.3 * cue
        border = (225.0, 230.0, 235.0)
    else:
        period = rng.uniform(8.0, 14.0) if instrument == "mobile" else rng.uniform(12.0, 20.0)
        bend = rng.uniform(-1, 1) * 1e-4 * (xx - W / 2) ** 2  # curved bands (in periods)
        phase = 2 * np.pi * (u / period + bend)
        shift = rng.uniform(0.3, 1.0)  # the colour subpixels beat out of phase
        pattern = np.stack([1 + 0.2 * cue * np.sin(phase + c * shift) for c in (-1, 0, 1)], 2)
        cast = np.array([1.1, 1.0, 0.92]) ** cue
        contrast = 1 - 0.2 * cue
        border = (20.0, 20.0, 22.0)
    gx, gy, gs = rng.uniform(0, W), rng.uniform(0, H), rng.uniform(20, 60)
    glare = 90 * cue * rng.uniform(0.3, 1) * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2)
                                                   / (2 * gs ** 2))
    scale = rng.uniform(0.75, 1.0) + (1 - cue) * rng.uniform(0.0, 0.45)
    return Medium(instrument, hand, float(scale), (rng.uniform(-15, 15), rng.uniform(-10, 10)),
                  float(contrast), cast.astype(np.float32), pattern.astype(np.float32),
                  glare.astype(np.float32), border)


def medium_transfer(medium: Medium) -> tuple[np.ndarray, np.ndarray]:
    """(gain, offset) per pixel such that the medium shows ``image * gain + offset``:
    colour cast, reduced dynamic range, halftone/moire pattern and glare in one affine map."""
    gain = medium.cast[None, None, :] * medium.contrast * medium.pattern
    offset = (128 + 10) * (1 - medium.contrast) * medium.pattern + medium.glare[..., None]
    return gain.astype(np.float32), offset.astype(np.float32)


def show_on_medium(shown: np.ndarray, medium: Medium, scene: np.ndarray,
                   shake: tuple[float, float, float],
                   transfer: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The camera's view of ``shown`` (H x W x 3 float32) on ``medium`` over ``scene``."""
    img = cv2.add(cv2.multiply(shown, transfer[0]), transfer[1])
    dx, dy, ang = shake
    m = cv2.getRotationMatrix2D((W / 2, H / 2), ang, medium.scale)
    m[:, 2] += (medium.offset[0] + dx, medium.offset[1] + dy)
    mask = np.ones((H, W), np.float32)
    cv2.rectangle(mask, (0, 0), (W - 1, H - 1), 0.0, 6)  # the medium's edge
    warped = cv2.warpAffine(img, m, (W, H), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=medium.border)
    inside = cv2.warpAffine(mask, m, (W, H), flags=cv2.INTER_LINEAR, borderValue=0.0)
    edge = cv2.warpAffine(np.ones((H, W), np.float32), m, (W, H), borderValue=0.0)
    inside3 = cv2.merge([inside] * 3)
    edge3 = cv2.merge([edge] * 3)
    border = np.array(medium.border, np.float32) * (edge3 - inside3)
    return scene * (1 - edge3) + border + cv2.multiply(warped, inside3)


@dataclass(frozen=True)
class Nuisance:
    """Capture nuisances of one video: exposure ``gain`` (1 = none), ``cast`` BGR gains,
    ``noise`` std in grey levels, ``blur`` odd kernel side (1 = none), ``drift`` fraction."""

    gain: float
    cast: np.ndarray
    noise: float
    blur: int
    drift: float


def draw_nuisance(rng: np.random.Generator, difficulty: float, adverse: bool) -> Nuisance:
    """Nuisances growing with ``difficulty`` in [0, 1]; ``adverse`` (side light) darker, noisier."""
    d = difficulty
    gain = rng.uniform(0.7, 0.9) if adverse else rng.uniform(0.9, 1.1)
    cast = (1 + rng.normal(0, 0.02 + 0.08 * d, 3)).astype(np.float32)
    noise = (2 + 10 * d) * (1.6 if adverse else 1.0)
    blur = int(rng.random() < 0.2 + 0.5 * d) * 2 + 1
    return Nuisance(float(gain), cast, float(noise), blur, float(rng.uniform(0, 0.1 + 0.2 * d)))


def lighting(adverse: bool, rng: np.random.Generator) -> np.ndarray:
    """Per-pixel illumination: even (controlled) or a side light (adverse)."""
    xx = np.linspace(-1, 1, W, dtype=np.float32)[None, :]
    yy = np.linspace(-1, 1, H, dtype=np.float32)[:, None]
    if not adverse:
        return np.ones((H, W), np.float32)
    side = rng.choice([-1.0, 1.0])
    return np.clip(0.75 + 0.45 * side * xx + 0.1 * yy, 0.25, 1.4).astype(np.float32)


def capture(scene: np.ndarray, light: np.ndarray, nz: Nuisance, noise_bank: np.ndarray,
            t: float, k: int) -> np.ndarray:
    """The camera: illumination (``light``: H x W x 3, cast included), exposure drift,
    blur and noise; uint8 BGR."""
    gain = nz.gain * (1 + nz.drift * np.sin(2 * np.pi * 0.2 * t))
    img = cv2.multiply(scene, light, scale=float(gain))
    if nz.blur > 1:
        img = cv2.GaussianBlur(img, (nz.blur, nz.blur), 0)
    img = cv2.scaleAdd(noise_bank[k % len(noise_bank)], nz.noise, img)
    np.clip(img, 0, 255, out=img)
    return img.astype(np.uint8)

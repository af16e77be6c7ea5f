"""Procedural subjects: a face, a background and smooth head motion per client.

Everything is drawn from a ``numpy.random.Generator`` passed in; nothing global.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

W, H = 320, 240
SHIFT = 4  # sub-pixel bits for cv2 drawing
ONE = 1 << SHIFT


@dataclass(frozen=True)
class Subject:
    """A client's appearance: colours BGR (0-255), ``face_axes``/``eye_*``/``mouth_w`` in
    pixels at head scale 1 (``eye_*`` from the face centre), ``brow_tilt`` a slope factor."""

    skin: tuple[float, float, float]      # BGR
    hair: tuple[float, float, float]
    eye: tuple[float, float, float]
    lips: tuple[float, float, float]
    face_axes: tuple[float, float]        # half width, half height (pixels at scale 1)
    eye_dx: float
    eye_y: float
    mouth_w: float
    brow_tilt: float
    background: np.ndarray                # H x W x 3 float32


def make_subject(rng: np.random.Generator) -> Subject:
    """A random subject (skin tone, features, background), drawn from ``rng`` only."""
    tone = rng.uniform(0.25, 0.95)
    skin = (60 + 120 * tone, 90 + 120 * tone, 120 + 125 * tone)
    hair = tuple(float(v) for v in rng.uniform(10, 120) * np.array([1.0, 1.1, 1.3]))
    eye = tuple(float(v) for v in rng.uniform(20, 110, 3))
    lips = (skin[0] * 0.6, skin[1] * 0.55, min(255.0, skin[2] * 1.05))
    return Subject(skin, hair, eye, lips,
                   (rng.uniform(44, 56), rng.uniform(58, 72)), rng.uniform(16, 22),
                   rng.uniform(-18, -10), rng.uniform(14, 24), rng.uniform(-0.15, 0.15),
                   textured_background(rng))


def textured_background(rng: np.random.Generator) -> np.ndarray:
    """A smooth coloured texture: low-resolution noise upsampled, plus a gradient."""
    low = rng.uniform(0, 1, (6, 8, 3)).astype(np.float32)
    tex = cv2.resize(low, (W, H), interpolation=cv2.INTER_CUBIC)
    base = rng.uniform(60, 200, 3).astype(np.float32)
    grad = np.linspace(0.8, 1.2, W, dtype=np.float32)[None, :, None]
    return np.clip(base * (0.6 + 0.8 * tex) * grad, 0, 255)


def head_track(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
    """Per-frame (x, y, scale, angle_deg, eye_open) of a smoothly moving head."""
    t = np.arange(n) / fps
    out = np.empty((n, 5), np.float32)
    for j, (centre, amp) in enumerate(((W / 2, 12.0), (H / 2 + 5, 8.0), (1.0, 0.06),
                                       (0.0, 6.0))):
        f = rng.uniform(0.05, 0.4, 2)
        ph = rng.uniform(0, 2 * np.pi, 2)
        out[:, j] = centre + amp * (0.6 * np.sin(2 * np.pi * f[0] * t + ph[0])
                                    + 0.4 * np.sin(2 * np.pi * f[1] * t + ph[1]))
    out[:, 0] += rng.uniform(-20, 20)
    blinks = rng.uniform(0, max(t[-1], 1e-3), max(1, int(t[-1] / 3)))
    out[:, 4] = 1.0
    for b in blinks:
        out[np.abs(t - b) < 0.08, 4] = 0.1
    return out


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(round(x * ONE)), int(round(y * ONE))


def draw_face(canvas: np.ndarray, s: Subject, pose: np.ndarray) -> None:
    """Draw the subject's face at ``pose`` (x, y, scale, angle, eye_open) in place."""
    x, y, k, ang, eye_open = (float(v) for v in pose)
    rot = np.deg2rad(ang)
    c, si = np.cos(rot), np.sin(rot)

    def at(dx: float, dy: float) -> tuple[int, int]:
        return _pt(x + k * (dx * c - dy * si), y + k * (dx * si + dy * c))

    ax, ay = s.face_axes
    cv2.ellipse(canvas, at(0, -ay * 0.35), _pt(k * ax * 1.08, k * ay * 0.8), ang, 180, 360,
                s.hair, -1, cv2.LINE_AA, SHIFT)
    cv2.ellipse(canvas, at(0, 0), _pt(k * ax, k * ay), ang, 0, 360, s.skin, -1, cv2.LINE_AA,
                SHIFT)
    shade = tuple(v * 0.8 for v in s.skin)
    cv2.ellipse(canvas, at(0, 8), _pt(k * 5, k * 12), ang, 0, 360, shade, -1, cv2.LINE_AA,
                SHIFT)
    for side in (-1, 1):
        ex = side * s.eye_dx
        cv2.ellipse(canvas, at(ex, s.eye_y), _pt(k * 8, k * 4.5 * eye_open), ang, 0, 360,
                    (235, 235, 235), -1, cv2.LINE_AA, SHIFT)
        if eye_open > 0.5:
            cv2.circle(canvas, at(ex, s.eye_y), int(k * 3.2 * ONE), s.eye, -1, cv2.LINE_AA,
                       SHIFT)
        tilt = side * s.brow_tilt * 20
        cv2.line(canvas, at(ex - 9, s.eye_y - 10 - tilt), at(ex + 9, s.eye_y - 10 + tilt),
                 s.hair, max(1, int(k * 3)), cv2.LINE_AA, SHIFT)
    cv2.ellipse(canvas, at(0, 30), _pt(k * s.mouth_w, k * 5), ang, 0, 180, s.lips, -1,
                cv2.LINE_AA, SHIFT)


def render_scene(s: Subject, pose: np.ndarray, background: np.ndarray | None = None) -> np.ndarray:
    """Background plus face, as float32 BGR in [0, 255]."""
    canvas = (s.background if background is None else background).copy()
    draw_face(canvas, s, pose)
    return canvas

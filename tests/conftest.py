"""Shared fixtures: small real videos and a small tensor cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

from biorepro import config as cfg
from biorepro.data.frames import ExtractParams
from biorepro.data.tensors import VIDEO_COLUMNS
from biorepro.plan import train_params
from biorepro.store.hashing import file_digest

# Property tests draw their examples from a fixed seed: a CI failure replays locally.
settings.register_profile("reproducible", derandomize=True)
settings.load_profile("reproducible")


FAKES = Path(__file__).resolve().parent / "fakes"


def with_fake_smi(folder: Path, name: str = "nvidia-smi") -> dict:
    """The environment with ``tests/fakes/<name>`` on ``PATH`` as ``nvidia-smi`` (linked
    from ``folder``): a driver listing a GPU that no installed framework can use."""
    (folder / "nvidia-smi").symlink_to(FAKES / name)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def extract_params(**settings) -> ExtractParams:
    """Extraction settings as a validated config gives them: ``settings`` over the
    schema's defaults (``fps`` alone sets ``n_frames`` to null)."""
    if "fps" in settings and "n_frames" not in settings:
        settings["n_frames"] = None
    return ExtractParams.from_config(cfg.validate({"extract": settings})["extract"])


def write_video(path: Path, n_frames: int, size=(64, 48), fps=25.0, encode_index=True) -> Path:
    """An MJPEG .mov whose frame k is a flat grey level 8*k (to check frame accuracy)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"jpeg"), fps, size)
    for k in range(n_frames):
        level = (8 * k) % 256 if encode_index else 128
        writer.write(np.full((size[1], size[0], 3), level, np.uint8))
    writer.release()
    return path


MODELS = Path(__file__).resolve().parent / "models"  # a user's model folder


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    """A copy of tests/models in a scratch working directory (the current one)."""
    shutil.copytree(MODELS, tmp_path / "models")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "models"


@pytest.fixture
def video_factory(tmp_path):
    return lambda name, n_frames, **kw: write_video(tmp_path / name, n_frames, **kw)


def make_tensor_cache(root: Path, n=(48, 24, 24), size=16, seed=0) -> Path:
    """A tensor cache whose bona fide frames are brighter than its attack frames."""
    rng = np.random.default_rng(seed)
    for split, count in zip(("train", "devel", "test"), n):
        d = root / split
        d.mkdir(parents=True)
        labels = (np.arange(count) % 2).astype(np.uint8)
        images = rng.integers(0, 120, (count, size, size, 3)).astype(np.uint8)
        images[labels == 1] += 100
        np.save(d / "images.npy", images)
        np.save(d / "labels.npy", labels)
        n_videos = count // 4
        np.save(d / "video_index.npy", (np.arange(count) % n_videos).astype(np.int32))
        np.save(d / "frame_index.npy", (np.arange(count) // n_videos).astype(np.int32))
        np.save(d / "fta.npy", np.zeros((0, 2), np.int32))
        pd.DataFrame([{"video_id": f"{split}-v{i}", "subject": f"{split}-s{i}",
                       "label": "attack", "attack_type": "print"} for i in range(n_videos)],
                     columns=VIDEO_COLUMNS).to_csv(d / "videos.csv", index=False)
    return root


def train_setup(image_size: int = 16, **train) -> tuple[dict, dict]:
    """Key parameters (without the seed) and job runtime of a ``train`` config section
    (defaults filled, then ``train`` over them), as planning computes them; CPU only."""
    conf = cfg.validate({"train": {"device": "cpu", "gpu_wait_s": 0, **train},
                         "tensors": {"image_size": image_size}})
    return train_params(conf, file_digest)

"""The built-in synthetic dataset: face videos and replay attacks, Replay-Attack layout.

``generate_dataset`` writes real MJPEG ``.mov`` files (320×240, 25 fps) named as in
Idiap's Replay-Attack: ``{split}/real/clientNNN_session01_webcam_authenticate_{light}_{k}.mov``
and ``{split}/attack/{fixed,hand}/attack_{print,mobile,highdef}_clientNNN_session01_
{device}_{photo,video}_{light}.mov``. Every video is drawn from its own generator seeded
by (seed, file name), so the output is byte-identical for a seed and independent of
generation order.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import cv2
import numpy as np

from biorepro.synth.attacks import (
    capture,
    draw_medium,
    draw_nuisance,
    lighting,
    medium_transfer,
    show_on_medium,
)
from biorepro.synth.faces import H, W, head_track, make_subject, render_scene, textured_background

FPS = 25
SPLITS = ("train", "devel", "test")
DEFAULT_ATTACKS = (("print", "fixed", "photo"), ("print", "hand", "photo"),
                   ("mobile", "fixed", "video"), ("mobile", "hand", "photo"),
                   ("highdef", "fixed", "video"), ("highdef", "hand", "video"))
DEVICE = {"print": "highdef", "mobile": "mobile", "highdef": "highdef"}


def _rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _write(path: Path, frames) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"jpeg"), FPS, (W, H))
    if not writer.isOpened():
        raise OSError(f"cannot write video {path}")
    for frame in frames:
        writer.write(frame)
    writer.release()


def _video_frames(seed: int, client: int, name: str, n: int, difficulty: float,
                  adverse: bool, attack: tuple[str, str, str] | None):
    subject = make_subject(_rng(seed, "client", client))
    rng = _rng(seed, name)
    noise_bank = np.repeat(rng.normal(0, 1, (6, H, W, 1)).astype(np.float32), 3, axis=3)
    nz = draw_nuisance(rng, difficulty, adverse)
    light = (lighting(adverse, rng)[..., None] * nz.cast).astype(np.float32)
    track = head_track(rng, n, FPS)
    if attack is None:
        for k in range(n):
            yield capture(render_scene(subject, track[k]), light, nz, noise_bank, k / FPS, k)
        return
    instrument, support, medium_kind = attack
    cue = (1 - 0.5 * difficulty) * rng.uniform(0.5, 1.0)  # every attack keeps a cue
    medium = draw_medium(rng, instrument, support == "hand", cue)
    transfer = medium_transfer(medium)
    room = textured_background(rng)
    still = render_scene(subject, head_track(rng, 1, FPS)[0])
    shake_f = rng.uniform(0.5, 2.0, 3)
    for k in range(n):
        t = k / FPS
        shown = still if medium_kind == "photo" else render_scene(subject, track[k])
        amp = (3.0, 2.0, 1.5) if support == "hand" else (0.0, 0.0, 0.0)
        shake = tuple(a * np.sin(2 * np.pi * f * t + i) for i, (a, f) in
                      enumerate(zip(amp, shake_f)))
        scene = show_on_medium(shown, medium, room, shake, transfer)
        yield capture(scene, light, nz, noise_bank, t, k)


def video_names(clients: dict[str, int], real_per_client: int,
                attacks) -> list[tuple[str, int, str, bool, tuple | None]]:
    """(split, client, relative path, adverse, attack) of every video."""
    out, client = [], 0
    for split in SPLITS:
        for _ in range(clients[split]):
            client += 1
            cid = f"client{client:03d}"
            for k in range(real_per_client):
                light = ("controlled", "adverse")[k % 2]
                out.append((split, client, f"{split}/real/{cid}_session01_webcam_authenticate_"
                            f"{light}_{k // 2 + 1}.mov", light == "adverse", None))
            for i, (inst, support, medium) in enumerate(attacks):
                light = ("controlled", "adverse")[(i + client) % 2]
                out.append((split, client, f"{split}/attack/{support}/attack_{inst}_{cid}_"
                            f"session01_{DEVICE[inst]}_{medium}_{light}.mov",
                            light == "adverse", (inst, support, medium)))
    return out


def _write_one(root: Path, seed: int, client: int, rel: str, n: int, difficulty: float,
               adverse: bool, attack) -> Path:
    path = root / rel
    _write(path, _video_frames(seed, client, rel, n, difficulty, adverse, attack))
    return path


def generate_dataset(root, *, seed: int = 0, clients: dict[str, int] | None = None,
                     duration_s: float = 10.0, difficulty: float = 0.5,
                     real_per_client: int = 2, attacks=None,
                     progress: Callable[[str], None] | None = None,
                     workers: int | None = None) -> list[Path]:
    """Write the dataset under ``root`` with ``workers`` processes (default: the CPU
    count, at most 8); returns the video paths. The bytes do not depend on ``workers``."""
    clients = dict(clients or {"train": 4, "devel": 4, "test": 4})
    if set(clients) != set(SPLITS) or any(not isinstance(v, int) or v < 1
                                          for v in clients.values()):
        raise ValueError(f"clients: need a positive count for each of {SPLITS}, got {clients}")
    if not 0 <= difficulty <= 1:
        raise ValueError(f"difficulty: must be in [0, 1], got {difficulty}")
    if not 0 < duration_s <= 600:
        raise ValueError(f"duration_s: must be in (0, 600], got {duration_s}")
    if real_per_client < 1:
        raise ValueError(f"real_per_client: must be >= 1, got {real_per_client}")
    attacks = tuple(attacks or DEFAULT_ATTACKS)
    for a in attacks:
        if a[0] not in DEVICE or a[1] not in ("fixed", "hand") or a[2] not in ("photo", "video"):
            raise ValueError(f"attacks: {a} is not (print|mobile|highdef, fixed|hand, "
                             "photo|video)")
    n = max(1, int(round(duration_s * FPS)))
    root = Path(root)
    names = video_names(clients, real_per_client, attacks)
    workers = workers or min(8, os.cpu_count() or 1)
    # spawned, not forked: a fork of a process that runs threads (a test runner, TensorFlow)
    # can deadlock in the child
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_write_one, root, seed, client, rel, n, difficulty, adverse, attack)
                   for _split, client, rel, adverse, attack in names]
        for i, future in enumerate(as_completed(futures), start=1):
            future.result()
            if progress and 10 * i // len(names) > 10 * (i - 1) // len(names):
                progress(f"synth: {i}/{len(names)} videos ({100 * i // len(names)}%)")
    return [root / rel for _split, _client, rel, _adverse, _attack in names]


def main(argv=None) -> int:
    """``biorepro synth``: generate the dataset into ``--out`` (``argv`` None: sys.argv); 0."""
    ap = argparse.ArgumentParser(prog="biorepro synth", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=0)
    for split, default in (("train", 4), ("devel", 4), ("test", 4)):
        ap.add_argument(f"--clients-{split}", type=int, default=default)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per video")
    ap.add_argument("--difficulty", type=float, default=0.5)
    ap.add_argument("--real-per-client", type=int, default=2)
    args = ap.parse_args(argv)
    paths = generate_dataset(
        args.out, seed=args.seed, duration_s=args.duration, difficulty=args.difficulty,
        real_per_client=args.real_per_client, progress=print,
        clients={"train": args.clients_train, "devel": args.clients_devel,
                 "test": args.clients_test})
    print(f"synth: {len(paths)} videos in {args.out}")
    return 0

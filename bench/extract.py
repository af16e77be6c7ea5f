"""Benchmark: frame extraction through the workflow vs. a full ffmpeg decode; decoders.

1. Generates (``biorepro synth``, not timed) a synthetic dataset of at least 200 videos
   (``--clients`` 9 per split, 8 videos each; 10 s, 320x240, 25 fps MJPEG) and an H.264
   copy of it (``-preset veryfast -bf 3 -g 60``, the same tree and names).
2. For each codec, times ``snakemake --cores P --until split`` on it (planning,
   hashing on a cold stat cache, batched extraction of ``n_frames`` per video, split
   folders) and ``ffmpeg -i v -f null -`` over the same files with P in parallel: prints
   both and the ratio (goal on MJPEG: workflow <= 1.0x the full decode; exact decoding
   of H.264 decodes every frame, so its ratio is higher).
3. Compares decoders in this process on a few videos of each codec, as ratios to an
   OpenCV ``grab()`` loop (the decoder used before PyAV): PyAV decoding every frame, PyAV
   demuxing only (the exact frame list), and ``biorepro.data.videoio.read_frames`` taking 10
   frames (what extraction does), wall and CPU time.
4. Times the parse-time planning of a Replay-Attack-sized manifest (1,300 videos) on a
   warm stat cache, against the same planning on a cold cache (which reads every byte).

    .venv/bin/python bench/extract.py [--clients 9] [--duration 10] [--parallel 2]
        [--workdir bench/out/extract] [--toy]

``--toy``: the same steps at the smallest sizes that exercise them: 1 client per split
(24 videos of 2 s), decoders compared once on 5 videos of each codec, planning of 78
videos (3 subjects, one per split); a smoke run of about a minute, its ratios not
comparable with the goal's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import cv2
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from biorepro import config as cfg  # noqa: E402
from biorepro.config import load  # noqa: E402
from biorepro.data.frames import ExtractParams  # noqa: E402
from biorepro.data.videoio import read_frames  # noqa: E402
from biorepro.plan import build_plan  # noqa: E402
from biorepro.synth.dataset import generated_dataset  # noqa: E402
from tests.workflow.smk import make_workdir  # noqa: E402


def timed(cmd, **kw) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, **kw)
    return time.perf_counter() - start


def snakemake_cmd(parallel: int, configfile: str) -> tuple[list[str], dict]:
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    return [str(bindir / "snakemake"), "--cores", str(parallel), "--configfile",
            configfile], env


def synthetic_dataset(work: Path, clients: int, duration_s: float) -> tuple[dict, list[Path]]:
    """The synthetic dataset's configuration and videos, generating it with ``biorepro
    synth`` as ``make demo`` does (not timed)."""
    dataset = {"kind": "synthetic", "root": str(work / "data"), "synthetic": {
        "clients": {"train": clients, "devel": clients, "test": clients},
        "duration_s": duration_s}}
    configfile = write_config(work, "generate", dataset)
    bindir = Path(sys.executable).parent
    subprocess.run([str(bindir / "biorepro"), "synth", "--configfile", configfile], cwd=work,
                   check=True, capture_output=True)
    conf = cfg.experiments(load([REPO / "config" / "config.yaml", work / configfile]))
    ds = next(iter(conf.values()))["dataset"]
    return dataset, sorted(generated_dataset(ds["root"], ds["synthetic"]).rglob("*.mov"))


def write_config(work: Path, name: str, dataset: dict) -> str:
    (work / f"bench-{name}.yaml").write_text(yaml.safe_dump(
        {"experiment": f"bench-{name}", "dataset": dataset, "seeds": [0]}))
    return f"bench-{name}.yaml"


def h264_copy(work: Path, videos: list[Path], parallel: int) -> tuple[dict, list[Path]]:
    """The videos re-encoded as H.264 with B-frames and 60-frame GOPs, same tree and names
    (a Replay-Attack layout), made once per dataset."""
    root = next(p for p in videos[0].parents if (p / "synth.json").is_file())
    out = work / "h264" / root.name
    copies = [out / v.relative_to(root) for v in videos]

    def encode(pair: tuple[Path, Path]) -> None:
        pair[1].parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(pair[0]), "-c:v", "libx264",
                        "-preset", "veryfast", "-bf", "3", "-g", "60", "-pix_fmt", "yuv420p",
                        str(pair[1])],
                       check=True, capture_output=True)

    if not (out / "done").is_file():
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(encode, zip(videos, copies)))
        (out / "done").touch()
    return {"kind": "replay-attack", "root": str(out)}, copies


def bench_extraction(work: Path, codec: str, dataset: dict, videos: list[Path],
                     parallel: int, duration_s: float) -> None:
    name = codec.lower().replace(".", "")
    smk, env = snakemake_cmd(parallel, write_config(work, name, dataset))
    shutil.rmtree(work / ".biorepro", ignore_errors=True)  # cold store and stat cache
    t_wf = timed([*smk, "--until", "split"], cwd=work, env=env)
    listing = "\n".join(map(str, videos)).encode()
    start = time.perf_counter()
    subprocess.run(["xargs", "-P", str(parallel), "-I{}", "ffmpeg", "-v", "error", "-i", "{}",
                    "-f", "null", "-"], input=listing, check=True, capture_output=True)
    t_ff = time.perf_counter() - start
    goal = " (goal <= 1.0x)" if codec == "MJPEG" else ""
    print(f"{codec}: {len(videos)} videos ({duration_s:g} s, 320x240, 25 fps), "
          f"parallelism {parallel}")
    print(f"  workflow extraction (incl. snakemake start, planning, hashing, split): "
          f"{t_wf:.1f} s")
    print(f"  ffmpeg full decode (-f null): {t_ff:.1f} s")
    print(f"  ratio workflow / full decode: {t_wf / t_ff:.2f}x{goal}")


def bench_decoders(label: str, videos: list[Path], repeats: int = 3) -> None:
    def opencv_grab(path: Path) -> int:
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        count = 0
        while cap.grab():
            count += 1
        cap.release()
        return count

    def pyav_decode(path: Path) -> int:
        with av.open(str(path)) as container:
            return sum(1 for _ in container.decode(video=0))

    def pyav_demux(path: Path) -> int:
        with av.open(str(path)) as container:
            return sum(1 for p in container.demux(video=0) if p.size)

    ten = ExtractParams.from_config(cfg.validate({"extract": {"n_frames": 10}})["extract"])

    def extraction(path: Path) -> int:
        return read_frames(path, ten.frame_indices).frames

    def cost(fn) -> tuple[float, float, list[int]]:
        """Best of ``repeats`` (wall, CPU) seconds over the videos; frame counts."""
        walls, cpus = [], []
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            counts = [fn(v) for v in videos]
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        return min(walls), min(cpus), counts

    base_wall, base_cpu, base_counts = cost(opencv_grab)
    print(f"{label} decoders on {len(videos)} videos, ratios to an OpenCV grab() loop "
          f"({base_wall * 1000 / len(videos):.0f} ms a video):")
    for name, fn in [("PyAV decode every frame", pyav_decode),
                     ("PyAV demux only (exact frame list)", pyav_demux),
                     ("read_frames, 10 frames (extraction)", extraction)]:
        wall, cpu, counts = cost(fn)
        same = "" if counts == base_counts else f" (frame counts differ: {counts} vs " \
            f"{base_counts})"
        print(f"  {name}: wall {wall / base_wall:.2f}x, CPU {cpu / base_cpu:.2f}x{same}")


def bench_planning(work: Path, n_videos: int = 1300) -> None:
    vids = work / "manifest-videos"
    vids.mkdir(exist_ok=True)
    rows = ["path,label,subject,split,attack_type"]
    payload = os.urandom(1 << 20)
    for i in range(n_videos):
        path = vids / f"v{i:04d}.mov"
        if not path.exists():
            path.write_bytes(i.to_bytes(4, "little") + payload)  # distinct 1 MiB files
        subject = i // 26  # 50 subjects of 26 videos, as Replay-Attack
        split = ("train", "devel", "test")[subject % 3]
        label = "bonafide" if i % 5 == 0 else "attack"
        rows.append(f"{path},{label},client{subject:03d},{split},"
                    f"{'' if label == 'bonafide' else 'print'}")
    (work / "manifest.csv").write_text("\n".join(rows) + "\n")
    conf = load([REPO / "config" / "config.yaml"])
    conf.update(store=str(work / "plan-store"), stat_cache=str(work / "plan-cache.sqlite"))
    conf["dataset"] = {"kind": "manifest", "manifest": str(work / "manifest.csv")}
    Path(conf["stat_cache"]).unlink(missing_ok=True)
    start = time.perf_counter()
    build_plan(conf)
    cold = time.perf_counter() - start
    warm = min(_time_plan(conf) for _ in range(3))
    print(f"planning {n_videos} videos: cold stat cache {cold:.2f} s, warm {warm:.3f} s "
          f"(warm/cold {warm / cold:.3f}x)")


def _time_plan(conf) -> float:
    start = time.perf_counter()
    build_plan(conf)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, help="clients per split (default 9)")
    ap.add_argument("--duration", type=float, help="seconds per video (default 10)")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=REPO / "bench" / "out" / "extract")
    ap.add_argument("--toy", action="store_true", help="the smallest sizes: a smoke run")
    args = ap.parse_args()
    toy = dict(clients=1, duration=2.0, repeats=1, n_videos=78)
    full = dict(clients=9, duration=10.0, repeats=3, n_videos=1300)
    sizes = toy if args.toy else full
    clients = args.clients or sizes["clients"]
    duration = args.duration or sizes["duration"]
    work = make_workdir(args.workdir)
    synthetic, mjpeg = synthetic_dataset(work, clients, duration)
    h264_dataset, h264 = h264_copy(work, mjpeg, args.parallel)
    bench_extraction(work, "MJPEG", synthetic, mjpeg, args.parallel, duration)
    bench_extraction(work, "H.264", h264_dataset, h264, args.parallel, duration)
    bench_decoders("MJPEG", mjpeg[::max(1, len(mjpeg) // 5)][:5], sizes["repeats"])
    bench_decoders("H.264", h264[::max(1, len(h264) // 5)][:5], sizes["repeats"])
    bench_planning(work, sizes["n_videos"])


if __name__ == "__main__":
    main()

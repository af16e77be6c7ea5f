"""Benchmark: ``biorepro fsck`` of a store vs. ``sha256sum`` of the same files.

Uses the store of a finished run (``--store``, default: the demo's ``.biorepro/store``);
without one, builds the demo's data stages (``biorepro synth``, then frames, split
folders, tensor cache: most of the demo store's files) in ``--workdir``. Both sides read
every file of every entry once from a warm page cache (each is run once untimed first);
``sha256sum`` gets the file list on its command line (one process, as `find | xargs`
would). Prints the minimum of ``--repeat`` runs of each and the ratio (goal: fsck <=
1.2x sha256sum), for the fsck library call and for the whole ``biorepro fsck --all``
command (Python start-up included).

    .venv/bin/python bench/fsck.py [--store .biorepro/store] [--workdir bench/out/fsck]
        [--repeat 5] [--toy]

``--toy``: the data stages of ``config/tiny.yaml`` built in ``--workdir`` (the demo's
store not used unless ``--store`` is given), one timed run of each: a smoke run of
under a minute, its ratios not comparable with the goal's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from biorepro.store.fsck import fsck, store_entries  # noqa: E402
from tests.workflow.smk import make_workdir  # noqa: E402


def build_demo_data_stages(workdir: Path, configfiles: list[str]) -> Path:
    """The store of the data stages of ``configfiles`` (none: the demo), built in
    ``workdir`` as ``make demo`` does: ``biorepro synth``, then snakemake."""
    work = make_workdir(workdir)
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    configs = ["--configfile", *configfiles] if configfiles else []
    subprocess.run([str(bindir / "biorepro"), "synth", *configs], cwd=work, env=env,
                   check=True, capture_output=True)
    subprocess.run([str(bindir / "snakemake"), "--cores", str(os.cpu_count() or 1),
                    *configs, "--until", "tensors"], cwd=work, env=env, check=True,
                   capture_output=True)
    return work / ".biorepro" / "store"


def best(func, repeat: int) -> float:
    func()  # warm the page cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="default: the demo's .biorepro/store "
                                               "(not with --toy)")
    ap.add_argument("--workdir", type=Path, default=REPO / "bench" / "out" / "fsck")
    ap.add_argument("--repeat", type=int, help="timed runs of each (default 5)")
    ap.add_argument("--toy", action="store_true", help="the tiny config's data stages, one "
                                                       "timed run of each: a smoke run")
    args = ap.parse_args()
    args.repeat = args.repeat or (1 if args.toy else 5)
    store = args.store or (None if args.toy else REPO / ".biorepro" / "store")
    if store is None or not store.is_dir():
        store = build_demo_data_stages(args.workdir.resolve(),
                                       ["config/tiny.yaml"] if args.toy else [])
    entries = store_entries(store)
    files = [str(p) for e in entries for p in sorted(e.rglob("*")) if p.is_file()]
    size = sum(os.path.getsize(f) for f in files)
    print(f"store {store}: {len(entries)} entries, {len(files)} files, {size / 1e6:.1f} MB")

    def sha256sum():
        subprocess.run(["sha256sum", *files], check=True, capture_output=True)

    def library():
        report = fsck(entries, log=lambda m: None)
        assert not report.damaged, report.damaged[:3]

    def command():  # in the work folder, where its caches go (config/ is a link)
        subprocess.run([str(Path(sys.executable).parent / "biorepro"), "fsck", "--all",
                        "--configfile", "store.yaml"], check=True, capture_output=True,
                       cwd=work)

    work = make_workdir(args.workdir)
    (work / "store.yaml").write_text(f"store: {store.resolve()}\n")
    ref = best(sha256sum, args.repeat)
    lib = best(library, args.repeat)
    cmd = best(command, args.repeat)
    print(f"sha256sum of every file:        {ref:.3f} s")
    print(f"fsck (library call, {os.cpu_count()} threads): {lib:.3f} s  ratio {lib / ref:.2f}x")
    print(f"biorepro fsck --all (command):  {cmd:.3f} s  ratio {cmd / ref:.2f}x")


if __name__ == "__main__":
    main()

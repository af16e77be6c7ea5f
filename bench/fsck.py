"""Benchmark: ``biorepro fsck`` of a store vs. ``sha256sum`` of the same files.

Uses the store of a finished run (default: the demo's ``.biorepro/store``); without
one, builds the demo's data stages (frames, split folders, tensor cache: most of the
demo store's files) in ``--workdir``. Both sides read every file of every entry once
from a warm page cache (each is run once untimed first); ``sha256sum`` gets the file
list on its command line (one process, as `find | xargs` would). Prints the minimum of
``--repeat`` runs of each and the ratio (goal: fsck <= 1.2x sha256sum), for the fsck
library call and for the whole ``biorepro fsck --all`` command (Python start-up
included).

    .venv/bin/python bench/fsck.py [--store .biorepro/store] [--repeat 5]
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


def build_demo_data_stages(workdir: Path) -> Path:
    work = make_workdir(workdir)
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    subprocess.run([str(bindir / "snakemake"), "--cores", str(os.cpu_count() or 1),
                    "--until", "tensors"], cwd=work, env=env, check=True,
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
    ap.add_argument("--store", type=Path, default=REPO / ".biorepro" / "store")
    ap.add_argument("--workdir", type=Path, default=REPO / "bench" / "out" / "fsck")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    store = args.store if args.store.is_dir() else build_demo_data_stages(args.workdir)
    entries = store_entries(store)
    files = [str(p) for e in entries for p in sorted(e.rglob("*")) if p.is_file()]
    size = sum(os.path.getsize(f) for f in files)
    print(f"store {store}: {len(entries)} entries, {len(files)} files, {size / 1e6:.1f} MB")

    def sha256sum():
        subprocess.run(["sha256sum", *files], check=True, capture_output=True)

    def library():
        report = fsck(entries, log=lambda m: None)
        assert not report.damaged, report.damaged[:3]

    def command():
        subprocess.run([str(Path(sys.executable).parent / "biorepro"), "fsck", "--all",
                        "--configfile", str(args.workdir / "store.yaml")], check=True,
                       capture_output=True, cwd=REPO)

    args.workdir.mkdir(parents=True, exist_ok=True)
    (args.workdir / "store.yaml").write_text(f"store: {store.resolve()}\n")
    ref = best(sha256sum, args.repeat)
    lib = best(library, args.repeat)
    cmd = best(command, args.repeat)
    print(f"sha256sum of every file:        {ref:.3f} s")
    print(f"fsck (library call, {os.cpu_count()} threads): {lib:.3f} s  ratio {lib / ref:.2f}x")
    print(f"biorepro fsck --all (command):  {cmd:.3f} s  ratio {cmd / ref:.2f}x")


if __name__ == "__main__":
    main()

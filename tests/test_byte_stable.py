"""Every stage's entry is a pure function of its inputs: built twice, byte-identical.

Each stage is built twice from the same inputs into the folders ``a`` and ``b`` as the
workflow runs it (the job module's ``run``; training as its own process, which sets the
determinism environment before Python starts); ``b`` is built in a fresh interpreter, so
no state of the first build's process can make them agree. Every file but
``provenance.json`` (what was observed) must have the same SHA-256. Downstream stages
read the ``a`` builds.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biorepro.aggregate import plots
from biorepro.evaluate.seed import scores_at_level
from biorepro.store.hashing import file_digest
from biorepro.jobs import compare, frames, metrics, split, summary, tensors
from biorepro.jobs.metrics import read_frame_scores
from biorepro.plan import make_entry
from biorepro.data.records import VideoRecord
from biorepro.store.entries import PROVENANCE
from tests.conftest import write_video

EXTRACT = {"n_frames": 3, "fps": None, "crop": "center", "size": 24, "face_scale": 1.3}
TRAIN = {"backbone": "xception_small", "widths": [4, 8], "dropout": 0.25, "epochs": 2,
         "batch_size": 8, "learning_rate": 0.001, "patience": 2, "determinism": "strict",
         "threads": 1, "seed": 0}
STATS = {"n_boot": 200, "ci": 0.95, "bootstrap_seed": 0, "target_half_width": 0.01}
LEVELS = ("frame", "video")
CRITERIA = ("eer", "min-hter")  # one experiment each, for the comparison
JOBS = {"split": split, "tensors": tensors, "metrics": metrics, "summary": summary,
        "compare": compare}


def quiet(_msg: str) -> None:
    pass


def digests(entry: Path) -> dict[str, str]:
    return {p.relative_to(entry).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(entry.rglob("*")) if p.is_file() and p.name != PROVENANCE}


def assert_same_bytes(a: Path, b: Path) -> None:
    da, db = digests(a), digests(b)
    assert da, f"{a} holds no file"
    assert sorted(da) == sorted(db)
    assert [f for f in da if da[f] != db[f]] == [], "files that differ"
    assert (a / PROVENANCE).is_file() and (b / PROVENANCE).is_file()


def keyed(stage: str, params: dict, inputs: dict) -> tuple[str, dict]:
    """``(key, ingredients)`` of an entry, as the plan derives them."""
    e = make_entry("", stage, params, inputs)
    return e.key, e.ingredients


def twice(root: Path, rel: str, build, *args) -> tuple[Path, Path]:
    """``build(root/a/rel, *args)`` here while ``build(root/b/rel, *args)`` runs in a
    fresh interpreter (``build`` is a function of this module, ``args`` picklable)."""
    a, b = root / "a" / rel, root / "b" / rel
    child = multiprocessing.get_context("spawn").Process(target=build, args=(b, *args))
    child.start()
    build(a, *args)
    child.join(timeout=300)
    assert child.exitcode == 0, f"{build.__name__} failed in a fresh interpreter"
    return a, b


# Builders: ``build_<stage>(out, ...)`` runs the stage's job as the workflow does.

def build_frames(out: Path, jobs: list[dict]) -> None:
    """Every video's entry under ``out`` (the stage's folder of a store)."""
    frames.run([{**j, "out": str(out / j["key"]),
                 "receipt": str(out.parent / "receipts" / j["key"])} for j in jobs], quiet)


def build_job(out: Path, stage: str, spec: dict, ingredients: dict) -> None:
    JOBS[stage].run(spec, ingredients, str(out), quiet)


def entry(root: Path, build_stage: str, params: dict, inputs: dict,
          spec: dict) -> tuple[str, tuple[Path, Path]]:
    """``(key, (a, b))``: the entry of ``build_stage`` built twice by its job module."""
    key, ingredients = keyed(build_stage, params, inputs)
    return key, twice(root, f"{build_stage}/{key}", build_job, build_stage, spec, ingredients)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("stable")


@pytest.fixture(scope="module")
def records(root):
    """Six videos (two per split) and a broken one."""
    out = []
    for i, (part, label) in enumerate([(s, lb) for s in ("train", "devel", "test")
                                       for lb in ("bonafide", "attack")]):
        video = write_video(root / "data" / part / label / f"client{i}.mov", 6 + i)
        out.append(VideoRecord(f"{part}--{label}--client{i}", str(video), label, f"s{i}",
                               part, "print" if label == "attack" else ""))
    broken = root / "data" / "test" / "attack" / "broken.mov"
    broken.write_bytes(b"not a video")
    return out + [VideoRecord("test--attack--broken", str(broken), "attack", "s9", "test",
                              "print")]


@pytest.fixture(scope="module")
def frames_entries(root, records):
    """``({video_id: key}, (a, b))``, ``a`` and ``b`` the frames folders of two stores."""
    jobs, keys = [], {}
    for r in records:
        keys[r.video_id], ingredients = keyed("frames", EXTRACT, {"video": file_digest(r.path)})
        jobs.append({"video": r.path, "key": keys[r.video_id], "ingredients": ingredients})
    return keys, twice(root, "frames", build_frames, jobs)


@pytest.fixture(scope="module")
def split_entries(root, records, frames_entries):
    keys, (frames_dir, _) = frames_entries
    table = {r.video_id: {"label": r.label, "subject": r.subject, "split": r.split,
                          "attack_type": r.attack_type, "frames": keys[r.video_id]}
             for r in records}
    spec = {"records": [r.as_dict() for r in records],
            "frames": {r.video_id: str(frames_dir / keys[r.video_id]) for r in records}}
    return entry(root, "split", {"on_bad_video": "skip"}, {"videos": table}, spec)


@pytest.fixture(scope="module")
def tensors_entries(root, split_entries):
    key, (split_dir, _) = split_entries
    return entry(root, "tensors", {"image_size": 16}, {"split": key}, {"split": str(split_dir)})


@pytest.fixture(scope="module")
def train_entries(root, tensors_entries):
    """Seed 0 trained twice, in two processes at once (strict determinism, on CPU)."""
    tensors_key, (tensors_dir, _) = tensors_entries
    key, ingredients = keyed("train", TRAIN, {"tensors": tensors_key})
    spec = json.dumps({"tensors": str(tensors_dir), "seed": 0, "params": TRAIN,
                       "ingredients": ingredients, "device": "cpu", "gpu_wait_s": 0,
                       "lock_dir": str(root / "locks")})
    outs = (root / "a" / "train" / key, root / "b" / "train" / key)
    procs = [subprocess.Popen([sys.executable, "-m", "biorepro.jobs.train", "--spec", spec,
                               "--out", str(out)], stderr=subprocess.PIPE, text=True)
             for out in outs]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    return key, outs


def metric_params(level: str, criterion: str) -> dict:
    return {"level": level, "criterion": criterion, "target": None,
            "fusion": "median" if level == "video" else None}


@pytest.fixture(scope="module")
def metric_entries(root, train_entries):
    """``{criterion: {level: (key, path)}}``: seed 0's metrics entries (built once)."""
    train_key, (train_dir, _) = train_entries
    out = {}
    for criterion in CRITERIA:
        for level in LEVELS:
            key, ingredients = keyed("metrics", metric_params(level, criterion),
                                     {"train": train_key})
            path = root / "a" / "metrics" / key
            build_job(path, "metrics", {"train": str(train_dir), "seed": 0}, ingredients)
            out.setdefault(criterion, {})[level] = key, path
    return out


def listed(entries: dict[str, tuple[str, Path]]) -> tuple[dict, list[dict]]:
    """Metrics entries of one experiment as the plan lists them: (key inputs, spec list)."""
    return ({f"0/{lv}": k for lv, (k, _) in entries.items()},
            [{"seed": 0, "level": lv, "path": str(p)} for lv, (_, p) in entries.items()])


def test_frames(frames_entries):
    keys, (a, b) = frames_entries
    for key in keys.values():
        assert_same_bytes(a / key, b / key)


def test_split_lists_bad_videos_by_id_not_path(split_entries, root):
    _, (a, b) = split_entries
    assert_same_bytes(a, b)
    text = (a / split.BAD_VIDEOS).read_text()
    (bad,) = csv.DictReader(text.splitlines())
    assert list(bad) == ["video_id", "split", "label", "reason"] and bad["reason"]
    assert (bad["video_id"], bad["split"], bad["label"]) == ("test--attack--broken", "test",
                                                             "attack")
    assert str(root) not in text


def test_tensors(tensors_entries):
    assert_same_bytes(*tensors_entries[1])


def test_train(train_entries):
    assert_same_bytes(*train_entries[1])


@pytest.mark.parametrize("level", LEVELS)
def test_metrics(root, train_entries, level):
    train_key, (train_dir, _) = train_entries
    _, pair = entry(root / "rebuilt", "metrics", metric_params(level, "eer"),
                    {"train": train_key}, {"train": str(train_dir), "seed": 0})
    assert_same_bytes(*pair)


def summary_job(split_entries, tensors_entries, train_entries, metric_entries,
                fusion: str) -> tuple[dict, dict, dict]:
    """``(params, inputs, spec)`` of the summary of seed 0's metrics, as the plan has them."""
    (split_key, (split_dir, _)), (tensors_key, (tensors_dir, _)) = split_entries, tensors_entries
    train_key, (train_dir, _) = train_entries
    metric_keys, metric_specs = listed(metric_entries["eer"])
    return ({"experiment": "tiny", "stats": STATS, "fusion": fusion},
            {"split": split_key, "tensors": tensors_key, "train": {"0": train_key},
             "metrics": metric_keys},
            {"experiment": "tiny", "split": str(split_dir), "tensors": str(tensors_dir),
             "train": {0: str(train_dir)}, "metrics": metric_specs,
             "entries": {f"split/{split_key}": "dataset of 7 videos"}})


def test_summary(root, split_entries, tensors_entries, train_entries, metric_entries):
    _, pair = entry(root, "summary", *summary_job(split_entries, tensors_entries,
                                                  train_entries, metric_entries, "median"))
    assert_same_bytes(*pair)
    report = (pair[0] / "data_report.md").read_text()
    assert "| test--attack--broken | test | attack |" in report and str(root) not in report


def test_summary_figures_fuse_videos_as_configured(root, monkeypatch, split_entries,
                                                  tensors_entries, train_entries,
                                                  metric_entries):
    drawn = {}
    monkeypatch.setattr(plots, "plot_det", lambda curves, stem, **_: drawn.update(
        {Path(stem).name: curves}))
    monkeypatch.setattr(plots, "plot_score_histograms", lambda devel, test, t, stem, **_:
                        drawn.update({Path(stem).name: test}))
    params, inputs, spec = summary_job(split_entries, tensors_entries, train_entries,
                                       metric_entries, "max")
    summary.run(spec, keyed("summary", params, inputs)[1], str(root / "fused-max"), quiet)
    frame_scores = read_frame_scores(train_entries[1][0], "test")
    fused = scores_at_level(frame_scores, "video", "max", "test")
    pd.testing.assert_frame_equal(drawn["scores_video_seed0"], fused)
    bonafide = fused.loc[fused["label"] == "bonafide", "score"].to_numpy()
    np.testing.assert_array_equal(drawn["det_video"]["seed 0"][1], bonafide)
    mean = scores_at_level(frame_scores, "video", "mean", "test")
    assert not fused["score"].equals(mean["score"])  # the data tell the fusions apart


def test_compare(root, metric_entries):
    experiments = {c: listed(metric_entries[c]) for c in CRITERIA}
    _, pair = entry(root, "compare", {"stats": STATS, "order": list(CRITERIA)},
                    {"metrics": {c: keys for c, (keys, _) in experiments.items()}},
                    {"experiments": {c: specs for c, (_, specs) in experiments.items()}})
    assert_same_bytes(*pair)

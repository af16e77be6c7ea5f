"""Every stage's entry is a pure function of its inputs: built twice, byte-identical.

Each stage is built twice from the same inputs into the stores ``a`` and ``b`` as the
workflow runs it (through the job adapter; training as its own process, which sets the
determinism environment before Python starts); ``b`` is built in a fresh interpreter, so
no state of the first build's process can make them agree. Every file but
``provenance.json`` (what was observed) must have the same SHA-256. Each store's
downstream entries are built from its own upstream ones.
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

from biorepro import config as cfg
from biorepro.aggregate import plots
from biorepro.data.records import VideoRecord
from biorepro.evaluate.seed import read_frame_scores, scores_at_level
from biorepro.jobs import summary
from biorepro.jobs.run import produce
from biorepro.plan import Source, make_entry
from biorepro.store import receipts
from biorepro.store.entries import PROVENANCE
from biorepro.store.hashing import file_digest
from biorepro.store.layouts import SPLIT, SUMMARY
from tests.conftest import train_setup, write_video

EXTRACT = cfg.section_params(cfg.validate({"extract": {"n_frames": 3, "size": 24}})["extract"],
                             "extract", "frames")
TRAIN, RUNTIME = train_setup(model_params={"widths": [4, 8]}, epochs=2, batch_size=8,
                             patience=2, threads=1)
STATS = {"n_boot": 200, "ci": 0.95, "bootstrap_seed": 0, "target_half_width": 0.01}
LEVELS = ("frame", "video")
CRITERIA = ("eer", "min-hter")  # one experiment each, for the comparison
STORES = ("a", "b")


def quiet(_msg: str) -> None:
    pass


def digests(entry: Path) -> dict[str, str]:
    return {p.relative_to(entry).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(entry.rglob("*")) if p.is_file() and p.name != PROVENANCE}


def assert_same_bytes(a, b) -> None:
    a, b = Path(a.path), Path(b.path)
    assert a != b
    da, db = digests(a), digests(b)
    assert da, f"{a} holds no file"
    assert sorted(da) == sorted(db)
    assert [f for f in da if da[f] != db[f]] == [], "files that differ"
    assert (a / PROVENANCE).is_file() and (b / PROVENANCE).is_file()


def produce_all(jobs: list[dict]) -> None:
    """Build every job's entry, as the workflow's job adapter does."""
    for job in jobs:
        produce(job, quiet)


def twice(plan) -> dict:
    """``{store: plan(store)}`` for the stores a and b, the entries (a list, or a mapping
    of entries) of store a built here while those of b are built in a fresh interpreter."""
    made = {s: plan(s) for s in STORES}
    jobs = {s: [e.job() for e in (made[s].values() if isinstance(made[s], dict) else made[s])]
            for s in STORES}
    child = multiprocessing.get_context("spawn").Process(target=produce_all, args=(jobs["b"],))
    child.start()
    produce_all(jobs["a"])
    child.join(timeout=300)
    assert child.exitcode == 0, "a build failed in a fresh interpreter"
    return made


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("stable")


def store(root: Path, name: str) -> str:
    return str(root / name)


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
    """``{store: {video_id: entry}}``."""
    return twice(lambda s: {r.video_id: make_entry(
        store(root, s), "frames", EXTRACT, {"video": Source(r.path, file_digest(r.path))})
        for r in records})


@pytest.fixture(scope="module")
def split_entries(root, records, frames_entries):
    videos = {r.video_id: {"label": r.label, "subject": r.subject, "split": r.split,
                           "attack_type": r.attack_type} for r in records}
    return twice(lambda s: [make_entry(store(root, s), "split",
                                       {"on_bad_video": "skip", "videos": videos},
                                       {"frames": frames_entries[s]})])


@pytest.fixture(scope="module")
def tensors_entries(root, split_entries):
    return twice(lambda s: [make_entry(store(root, s), "tensors", {"image_size": 16},
                                       {"split": split_entries[s][0]})])


@pytest.fixture(scope="module")
def train_entries(root, tensors_entries):
    """Seed 0 trained twice, in two processes at once (strict determinism, on CPU)."""
    seeds = {"init": 0, "order": 0, "noise": 0, "replicate": 0}
    made = {s: make_entry(store(root, s), "train", {**TRAIN, "seeds": seeds},
                          {"tensors": tensors_entries[s][0]},
                          runtime={**RUNTIME, "lock_dir": str(root / "locks")})
            for s in STORES}
    procs = [subprocess.Popen([sys.executable, "-m", "biorepro.jobs", "--job",
                               json.dumps(e.job())], stderr=subprocess.PIPE, text=True)
             for e in made.values()]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    return made


def metric_params(level: str, criterion: str) -> dict:
    return {"seed": 0, "sources": {"init": 0, "order": 0, "noise": 0, "split": None,
                                   "replicate": 0},
            "level": level, "criterion": criterion, "target": None,
            "operating_points": cfg.validate({})["evaluate"]["operating_points"],
            "fusion": "median" if level == "video" else None, "threshold_from": "devel"}


@pytest.fixture(scope="module")
def metric_entries(root, train_entries):
    """``{store: {(criterion, level): entry}}``: seed 0's metrics entries."""
    return twice(lambda s: {(c, lv): make_entry(store(root, s), "metrics", metric_params(lv, c),
                                                {"train": train_entries[s]})
                            for c in CRITERIA for lv in LEVELS})


def summary_entry(root: Path, s: str, split_entries, tensors_entries, train_entries,
                  metric_entries, fusion: str, name: str = ""):
    """The summary of seed 0's metrics (criterion eer) in store ``s``, as the plan has it."""
    return make_entry(store(root, name or s), "summary",
                      {"experiment": "tiny", "stats": STATS, "fusion": fusion, "paper": None,
                       "design": None, "legs": None},
                      {"split": {"all": split_entries[s][0]},
                       "tensors": {"all": tensors_entries[s][0]},
                       "train": {"all/0": train_entries[s]},
                       "metrics": {f"all/0/{lv}": metric_entries[s][("eer", lv)]
                                   for lv in LEVELS}})


def test_frames(frames_entries):
    for video_id, a in frames_entries["a"].items():
        assert_same_bytes(a, frames_entries["b"][video_id])


def test_split_lists_bad_videos_by_id_not_path(split_entries, root):
    a, b = split_entries["a"][0], split_entries["b"][0]
    assert_same_bytes(a, b)
    text = (Path(a.path) / SPLIT.bad_videos()).read_text()
    (bad,) = csv.DictReader(text.splitlines())
    assert list(bad) == ["video_id", "split", "label", "reason"] and bad["reason"]
    assert (bad["video_id"], bad["split"], bad["label"]) == ("test--attack--broken", "test",
                                                             "attack")
    assert str(root) not in text


def test_tensors(tensors_entries):
    assert_same_bytes(tensors_entries["a"][0], tensors_entries["b"][0])


def test_train(train_entries):
    assert_same_bytes(train_entries["a"], train_entries["b"])


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("criterion", CRITERIA)
def test_metrics(metric_entries, criterion, level):
    assert_same_bytes(metric_entries["a"][(criterion, level)],
                      metric_entries["b"][(criterion, level)])


def test_summary(root, split_entries, tensors_entries, train_entries, metric_entries):
    made = twice(lambda s: [summary_entry(root, s, split_entries, tensors_entries,
                                          train_entries, metric_entries, "median")])
    assert_same_bytes(made["a"][0], made["b"][0])
    report = (Path(made["a"][0].path) / SUMMARY.data_report(ext="md")).read_text()
    assert "| test--attack--broken | test | attack |" in report and str(root) not in report
    landing = (Path(made["a"][0].path) / SUMMARY.landing()).read_text()
    assert ':header: "Metric", "n", "Mean", "Std", "95% CI (bootstrap)"' in landing


def test_summary_figures_fuse_videos_as_configured(root, monkeypatch, split_entries,
                                                  tensors_entries, train_entries,
                                                  metric_entries):
    drawn = {}
    monkeypatch.setattr(plots, "plot_det", lambda curves, stem, **_: drawn.update(
        {Path(stem).name: curves}))
    monkeypatch.setattr(plots, "plot_score_histograms", lambda devel, test, t, stem, **_:
                        drawn.update({Path(stem).name: test}))
    e = summary_entry(root, "a", split_entries, tensors_entries, train_entries,
                      metric_entries, "max", name="fused-max")
    out = root / "fused-max-out"
    out.mkdir()
    summary.build(receipts.resolve(e.job()), out, quiet)
    frame_scores = read_frame_scores(train_entries["a"].path, "test")
    fused = scores_at_level(frame_scores, "video", "max", "test")
    pd.testing.assert_frame_equal(drawn["scores_video_seed0"], fused)
    bonafide = fused.loc[fused["label"] == "bonafide", "score"].to_numpy()
    np.testing.assert_array_equal(drawn["det_video"]["seed 0"][1], bonafide)
    mean = scores_at_level(frame_scores, "video", "mean", "test")
    assert not fused["score"].equals(mean["score"])  # the data tell the fusions apart


def test_compare(root, metric_entries):
    made = twice(lambda s: [make_entry(
        store(root, s), "compare", {"stats": STATS, "order": list(CRITERIA)},
        {"metrics": {c: {f"all/0/{lv}": metric_entries[s][(c, lv)] for lv in LEVELS}
                     for c in CRITERIA}})])
    assert_same_bytes(made["a"][0], made["b"][0])

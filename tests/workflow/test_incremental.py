"""Reruns recompute only what changed, checked with real snakemake runs on
config/tiny.yaml.

The tests share one working directory whose store holds the whole pipeline's entries
(see ``tiny_workdir``) and run in file order: each counts what a dry run would do after
one change, or runs it.
"""

import dataclasses
import os
import re
import shutil
from pathlib import Path

import cv2
import pytest

from biorepro import config as cfg
from biorepro.plan import dataset_records
from tests.workflow.smk import (
    copy_library,
    extracted_videos,
    override,
    planned_jobs,
    snakemake,
    status,
    tiny_workdir,
)

STORE_RULES = ("split", "tensors", "train", "metrics", "summary")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tiny_workdir(tmp_path_factory, "incremental")


def tiny_records(work):
    conf = cfg.validate(cfg.load([work / "config/config.yaml", work / "config/tiny.yaml"]))
    cwd = os.getcwd()
    os.chdir(work)
    try:
        return [dataclasses.replace(r, path=str(work / r.path))
                for r in dataset_records(conf)["all"]]
    finally:
        os.chdir(cwd)


def rewrite_video(src: Path, dst: Path) -> None:
    """Re-encode ``src`` with its first frame inverted: same video, other bytes."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    frames[0] = 255 - frames[0]
    h, w = frames[0].shape[:2]
    tmp = dst.with_name(dst.stem + ".tmp.mov")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    os.replace(tmp, dst)


def test_second_run_plans_nothing(work):
    assert planned_jobs(work) == {}
    dry = snakemake(work, "-n", generate=False)
    assert "missing provenance/metadata" not in dry.stdout + dry.stderr


def store_counts(work) -> dict[str, int]:
    store = work / ".biorepro" / "store"
    return {stage: len([d for d in (store / stage).iterdir() if not d.name.startswith(".")])
            for stage in ("frames", *STORE_RULES)}


def test_a_rebuild_with_the_same_content_cuts_off_everything_after_it(work, tmp_path):
    """Early cutoff, with an edited copy of the library: an unused helper added to the
    extraction code changes every frames key, so the dry run extracts every video again
    and says the rest may rerun; the run extracts the same bytes and builds nothing
    after the frames; status says what was cut off. A new log text in training changes
    no key at all."""
    env = copy_library(tmp_path)
    assert planned_jobs(work, env=env) == {}  # the copy plans what the library plans
    frames_code = tmp_path / "biorepro" / "data" / "frames.py"
    frames_code.write_text(frames_code.read_text() + "\n\ndef unused_helper():\n    return 1\n")
    before = store_counts(work)
    dry = snakemake(work, "-n", env=env, generate=False)
    assert re.search(r"biorepro: \d+ entries to build \(frames \d+\); 9 may rerun",
                     dry.stderr), dry.stderr[-2000:]
    assert "may rerun: waits for frames" in status(work, env=env)
    proc = snakemake(work, env=env, generate=False)
    assert "9 entries cut off, not built" in proc.stdout + proc.stderr
    after = store_counts(work)
    assert after["frames"] == 2 * before["frames"]
    assert {s: after[s] for s in STORE_RULES} == {s: before[s] for s in STORE_RULES}
    said = status(work, env=env)
    assert "9 cut off (split 1, tensors 1, train 2, metrics 4, summary 1)" in said, said
    train_code = tmp_path / "biorepro" / "jobs" / "train.py"
    text = train_code.read_text()
    assert 'log(f"' in text
    train_code.write_text(text.replace('log(f"', 'log(f"(reworded) ', 1))
    assert planned_jobs(work, env=env) == {}


def test_touching_every_source_video_plans_nothing(work):
    for r in tiny_records(work):
        Path(r.path).touch()
    assert planned_jobs(work) == {}


def test_extraction_parameter_change_and_revert(work):
    n_videos = len(tiny_records(work))
    changed = override(work, "size40", {"extract": {"size": 40}})
    jobs = planned_jobs(work, configfiles=changed)
    assert extracted_videos(work, configfiles=changed) == n_videos
    for rule in ("split", "tensors", "summary"):
        assert jobs[rule] == 1, jobs
    assert planned_jobs(work) == {}


def test_changing_one_video_reextracts_only_it(work, tmp_path):
    video = Path(tiny_records(work)[0].path)
    backup = tmp_path / "backup.mov"
    shutil.copy2(video, backup)
    try:
        rewrite_video(backup, video)
        jobs = planned_jobs(work)
        assert extracted_videos(work) == 1
        assert jobs["split"] == 1 and jobs["tensors"] == 1, jobs
    finally:
        shutil.copy2(backup, video)
    assert planned_jobs(work) == {}


def test_adding_a_video_to_a_manifest_extracts_only_it(work):
    records = tiny_records(work)
    rows = ["path,label,subject,split,attack_type"]
    rows += [f"{r.path},{r.label},{r.subject},{r.split},{r.attack_type}" for r in records]
    manifest = work / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    conf = override(work, "manifest", {"dataset": {"kind": "manifest",
                                                   "manifest": str(manifest)}})
    assert extracted_videos(work, configfiles=conf) == 0  # same bytes, same entries
    extra = work / "extra" / "client_new.mov"
    extra.parent.mkdir(exist_ok=True)
    bonafide = next(r for r in records if r.label == "bonafide" and r.split == "train")
    rewrite_video(Path(bonafide.path), extra)
    rows.append(f"{extra},bonafide,{bonafide.subject},train,")
    manifest.write_text("\n".join(rows) + "\n")
    assert extracted_videos(work, configfiles=conf) == 1


def test_adding_a_seed_trains_only_that_seed(work):
    jobs = planned_jobs(work, configfiles=override(work, "seeds3", {"seeds": [0, 1, 2]}))
    assert jobs == {"train": 1, "metrics": 2, "summary": 1, "view": 1,
                    "all": 1}, jobs


def test_threshold_criterion_and_fusion_changes_train_nothing(work):
    jobs = planned_jobs(work, configfiles=override(
        work, "minhter", {"evaluate": {"criterion": "min-hter"}}))
    assert jobs == {"metrics": 4, "summary": 1, "view": 1, "all": 1}, jobs
    jobs = planned_jobs(work, configfiles=override(work, "median",
                                                   {"evaluate": {"fusion": "median"}}))
    assert jobs == {"metrics": 2, "summary": 1, "view": 1,
                    "all": 1}, jobs  # video level only



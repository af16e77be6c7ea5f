"""The store keeps its promise, checked with real snakemake runs: each entry is built with
its own ingredients, damage is found and repaired, and a shared store loses nothing."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from biorepro import config as cfg
from biorepro.data.frames import ExtractParams, extract_video
from biorepro.plan import build_plan
from biorepro.store.entries import PROVENANCE, QUARANTINE, check_entry
from tests.workflow.smk import make_workdir, planned_jobs, snakemake, tiny_workdir

BIN = Path(sys.executable).parent
SMALL = {"seeds": [0], "train": {"epochs": 1}}


def write_config(work, name, data):
    (work / name).write_text(yaml.safe_dump(data))
    return ("config/tiny.yaml", name)


def plan_of(work, configfiles):
    cwd = os.getcwd()
    os.chdir(work)
    try:
        return build_plan(cfg.load(["config/config.yaml", *configfiles]))
    finally:
        os.chdir(cwd)


def biorepro(work, *args):
    return subprocess.run([str(BIN / "biorepro"), *args], cwd=work, capture_output=True,
                          text=True, timeout=600)


def writable(path):
    for p in [path, *path.rglob("*")]:
        os.chmod(p, p.stat().st_mode | 0o200)


VARIANTS = {"size": {"extract": {"size": 40}}, "n_frames": {"extract": {"n_frames": 3}},
            "fps": {"extract": {"n_frames": None, "fps": 2.0}},
            "face": {"extract": {"crop": "face"}},
            "face_scale": {"extract": {"crop": "face", "face_scale": 2.0}},
            "no_face": {"extract": {"crop": "face", "no_face": "center"}}}


@pytest.mark.slow  # about 3 minutes: seven extractions of every video, each checked
def test_variants_differing_in_each_extraction_parameter_get_their_own_frames(tmp_path):
    """On an empty store, batches mix the variants' videos: every frames entry must hold
    what its own key says (checked against an extraction with the key's parameters)."""
    work = make_workdir(tmp_path / "w")
    conf = write_config(work, "variants.yaml", {**SMALL, "experiments": VARIANTS,
                                                "extract": {"videos_per_job": 500}})
    snakemake(work, "--until", "split", configfiles=conf)
    plan = plan_of(work, conf)
    frames = {e.key: e for e in plan.entries("frames")}
    assert len(frames) == 7 * len(plan.experiments["tiny"].records["all"])
    for e in frames.values():
        entry = Path(work / e.path)
        assert check_entry(entry).ok
        params = ExtractParams.from_config(e.ingredients["params"])
        expected = tmp_path / "expected" / e.key
        meta = extract_video(work / e.deps["video"].path, expected, params)
        got = json.loads((entry / "frames.json").read_text())
        assert got["frame_indices"] == meta["frame_indices"], e.what
        assert got["fta_frames"] == meta["fta_frames"], e.what
        pngs = sorted((entry / "frames").glob("*.png"))
        assert len(pngs) == len(meta["frame_indices"]) - len(meta["fta_frames"])
        assert all(cv2.imread(str(p)).shape == (params.size, params.size, 3) for p in pngs)
        for png in pngs:
            assert png.read_bytes() == (expected / "frames" / png.name).read_bytes(), png


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A working directory of a finished run of the tiny configuration."""
    return tiny_workdir(tmp_path_factory, "trust"), ("config/tiny.yaml",)


def test_published_entries_are_read_only_and_the_view_is_a_copy(run):
    work, conf = run
    plan = plan_of(work, conf)
    for e in plan.entries():
        for p in [Path(work / e.path), *Path(work / e.path).rglob("*")]:
            assert not p.stat().st_mode & 0o222, p
    summary = Path(work / plan.experiments["tiny"].summary.path)
    (work / "results/tiny/summary.md").write_text("edited")
    assert (summary / "summary.md").read_text() != "edited"
    assert check_entry(summary).ok
    proc = biorepro(work, "fsck", "--configfile", *conf)
    assert proc.returncode == 0 and "0 damaged" in proc.stdout, proc.stdout + proc.stderr


def test_damage_is_refused_before_any_job_then_repaired_and_rebuilt(run):
    work, conf = run
    plan = plan_of(work, conf)
    victim = Path(work / plan.entries("frames")[0].path)
    png = sorted((victim / "frames").glob("*.png"))[1]
    good = png.read_bytes()
    writable(victim)
    png.write_bytes(good[: len(good) // 2])  # truncated
    proc = snakemake(work, "-n", configfiles=conf, check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and victim.name in text and png.name in text, text[-2000:]
    assert "biorepro fsck --repair" in text
    proc = biorepro(work, "fsck", "--configfile", *conf)
    assert proc.returncode == 1 and f"DAMAGED {plan.entries('frames')[0].path}" in proc.stdout
    assert f"frames/{png.name} has" in proc.stdout
    proc = biorepro(work, "fsck", "--repair", "--configfile", *conf)
    assert proc.returncode == 1 and "1 moved to" in proc.stdout, proc.stdout
    assert not victim.exists()
    assert len(list((work / ".biorepro/store" / QUARANTINE / "frames").iterdir())) == 1
    jobs = planned_jobs(work, configfiles=conf)  # what follows may rerun: waits for frames
    assert jobs["frames"] == 1 and jobs["split"] == 1, jobs
    before = {stage: sorted(p.name for p in (work / ".biorepro/store" / stage).iterdir())
              for stage in ("split", "tensors", "train", "metrics", "summary")}
    proc = snakemake(work, configfiles=conf)
    assert check_entry(victim).ok and (victim / "frames" / png.name).read_bytes() == good
    assert "entries cut off, not built" in proc.stdout + proc.stderr  # same bytes again
    assert before == {stage: sorted(p.name for p in (work / ".biorepro/store" / stage).iterdir())
                      for stage in before}
    assert biorepro(work, "fsck", "--configfile", *conf).returncode == 0


def test_same_size_damage_stops_the_job_that_reads_it(run):
    """A zeroed images.npy keeps its size: planning cannot see it, fsck and the next job
    that reads it do, and nothing is trained on it."""
    work, conf = run
    plan = plan_of(work, conf)
    tensors = Path(work / plan.experiments["tiny"].tensors["all"].path)
    images = tensors / "train" / "images.npy"
    writable(tensors)
    original = images.read_bytes()
    images.write_bytes(original[:128] + bytes(len(original) - 128))
    more = write_config(work, "seed2.yaml", {"seeds": [0, 1, 2]})
    proc = snakemake(work, configfiles=more, check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "train/images.npy has other content" in text, text[-3000:]
    assert not any(e.published for e in plan_of(work, more).experiments["tiny"].train.values()
                   if e.ingredients["params"]["seeds"]["init"] == 2)
    proc = biorepro(work, "fsck", "--repair", "--configfile", *more)
    assert proc.returncode == 1 and "train/images.npy" in proc.stdout
    snakemake(work, configfiles=more)
    assert np.load(images).any() and images.read_bytes() == original


def test_an_edited_provenance_is_damage(run):
    work, conf = run
    plan = plan_of(work, conf)
    metrics = Path(work / next(iter(plan.experiments["tiny"].metrics.values())).path)
    record = json.loads((metrics / PROVENANCE).read_text())
    record["observed"]["host"] = "elsewhere"
    writable(metrics)
    (metrics / PROVENANCE).write_text(json.dumps(record))
    proc = biorepro(work, "fsck", "--configfile", *conf)
    assert proc.returncode == 1 and "modified after publication" in proc.stdout
    assert biorepro(work, "fsck", "--repair", "--configfile", *conf).returncode == 1
    snakemake(work, configfiles=conf)
    assert check_entry(metrics).ok


@pytest.mark.slow  # over a minute: two runs of their own, one killed while it trains
def test_a_failed_job_of_one_run_keeps_the_entry_another_run_published(tmp_path):
    """Run B plans a training entry while it is missing; run A publishes it; B's job is
    then killed. Snakemake removes the failed job's outputs: they are B's receipts, never
    A's entry."""
    shared = tmp_path / "shared"
    override = {**SMALL, "store": str(shared / "store"),
                "stat_cache": str(shared / "statcache.sqlite"),
                "dataset": {"root": str(shared / "data")}}
    a, b = make_workdir(tmp_path / "a"), make_workdir(tmp_path / "b")
    conf = write_config(a, "shared.yaml", override)
    write_config(b, "shared.yaml", override)
    snakemake(a, configfiles=conf)
    planned = plan_of(a, conf).experiments["tiny"].train["all", 0]
    entry = Path(planned.path)
    held = entry.with_name(".held-" + entry.name)
    os.rename(entry, held)  # not yet published, as B sees it
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    proc = subprocess.Popen([str(BIN / "snakemake"), "--cores", "1", "--configfile", *conf],
                            cwd=b, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    log = b / ".biorepro" / "logs" / "train" / f"{planned.recipe}.log"  # a job of one run
    deadline = time.monotonic() + 300
    while not (log.is_file() and "train: seed" in log.read_text()):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    os.rename(held, entry)  # run A publishes the entry B is building
    trainer = next(pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                   if _is_trainer(pid, b))
    os.kill(trainer, signal.SIGKILL)  # B's job dies (out of memory, time limit, ...)
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode != 0, out[-3000:]
    assert check_entry(entry).ok, out[-3000:]
    snakemake(b, configfiles=conf)  # B completes from the store without training
    assert (b / "results" / "tiny" / "summary.md").is_file()
    assert check_entry(entry).ok


def _is_trainer(pid: int, workdir: Path) -> bool:
    """Whether ``pid`` runs a job of the run in ``workdir`` (the rule's script, or the job
    in its own process): while the train log grows, only the training job runs."""
    try:
        cmd = b" ".join(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"))
        return ((b"biorepro.jobs" in cmd or b".job.py" in cmd)
                and os.readlink(f"/proc/{pid}/cwd") == str(workdir))
    except OSError:
        return False


def test_recheck_rebuilds_every_stage_bit_for_bit(run):
    work, conf = run
    proc = biorepro(work, "recheck", "--configfile", *conf)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((work / "results/tiny/recheck.json").read_text())
    assert report["all_identical"]
    assert [r["stage"] for r in report["entries"]] == [
        "frames", "split", "tensors", "train", "metrics", "summary"]
    assert "IDENTICAL" in proc.stderr + proc.stdout
    snakemake(work, configfiles=conf)  # the view is refreshed; the recheck report stays
    assert (work / "results/tiny/recheck.csv").is_file()


def test_recheck_names_the_entry_and_file_that_differ(run):
    """An entry whose content is not what its key's job makes (here: a metrics file
    rewritten with a consistent provenance, so fsck sees nothing) fails the recheck."""
    from biorepro.store.entries import write_provenance

    work, conf = run
    plan = plan_of(work, conf)
    entry = Path(work / sorted(plan.entries("metrics"), key=lambda e: e.key)[0].path)
    record = json.loads((entry / PROVENANCE).read_text())
    writable(entry)
    metrics = json.loads((entry / "metrics.json").read_text())
    metrics["test_hter"] = 0.0
    (entry / "metrics.json").write_text(json.dumps(metrics))
    write_provenance(entry, record["ingredients"])
    assert check_entry(entry).ok
    proc = biorepro(work, "recheck", "--stage", "metrics", "--configfile", *conf)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"DIFFERENT {entry.relative_to(work)}" in proc.stdout
    assert "metrics.json (JSON: " in proc.stdout and "SHA-256" in proc.stdout
    report = json.loads((work / "results/tiny/recheck.json").read_text())
    assert not report["all_identical"]


def test_an_entry_without_provenance_is_not_published(run):
    """For Snakemake and `biorepro status` alike: its job runs again and replaces it."""
    work, conf = run
    plan = plan_of(work, conf)
    entry = Path(work / sorted(plan.entries("metrics"), key=lambda e: e.key)[-1].path)
    writable(entry)
    (entry / PROVENANCE).unlink()
    # the summary's key waits for the metrics' content: it may rerun
    assert planned_jobs(work, configfiles=conf) == {"metrics": 1, "summary": 1, "view": 1,
                                                    "all": 1}
    status = biorepro(work, "status", "--configfile", *conf)
    assert "1 would run, 1 may rerun" in status.stdout, status.stdout
    assert entry.name in status.stdout and "may rerun: waits for metrics" in status.stdout
    snakemake(work, configfiles=conf)
    assert check_entry(entry).ok

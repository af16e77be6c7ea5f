"""Bad videos, bad configurations and datasets, interrupted runs, through real snakemake
runs."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from biorepro.store.entries import TMP_PREFIX, is_published
from biorepro.synth.generate import generate_dataset
from tests.workflow.smk import make_workdir, planned_jobs, snakemake, synth

SMALL = {"seeds": [0], "train": {"epochs": 1}}


@pytest.fixture(scope="module")
def folders_dataset(tmp_path_factory):
    """A folders-layout dataset (from the generator) plus one corrupt and one empty file."""
    root = tmp_path_factory.mktemp("videos")
    src = generate_dataset(root / "src", clients={"train": 1, "devel": 1, "test": 1},
                           duration_s=1.0, real_per_client=1)
    data = root / "data"
    for p in src:
        split, kind = p.relative_to(root / "src").parts[:2]
        dest = data / split / ("bonafide" if kind == "real" else "attack") / p.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.link(p, dest)
    (data / "test" / "attack" / "client003_broken.mov").write_bytes(b"\x00\x01garbage" * 100)
    (data / "devel" / "bonafide" / "client002_empty.mov").write_bytes(b"")
    # cut short after its index (an interrupted copy): its first frames still decode
    whole = root / "whole.mov"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(next(data.glob("train/bonafide/*"))),
                    "-c", "copy", "-movflags", "+faststart", str(whole)], check=True)
    (data / "train" / "bonafide" / "client001_partial.mov").write_bytes(
        whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    return data


def config_for(work, data, on_bad):
    conf = {**SMALL, "experiment": f"bad-{on_bad}",
            "dataset": {"kind": "folders", "root": str(data), "on_bad_video": on_bad,
                        "subject_regex": r"(?P<subject>client\d+)"}}
    path = work / f"{on_bad}.yaml"
    path.write_text(yaml.safe_dump(conf))
    return ("config/tiny.yaml", path.name)


def test_bad_videos_fail_before_training_naming_each_file(tmp_path, folders_dataset):
    work = make_workdir(tmp_path / "w")
    proc = snakemake(work, configfiles=config_for(work, folders_dataset, "fail"), check=False)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "client003_broken.mov" in text and "client002_empty.mov" in text
    assert "client001_partial.mov): truncated" in text
    assert "on_bad_video: skip" in text
    assert "Traceback" not in text and text.count("3 video(s) cannot be used") == 1
    assert not list((work / ".biorepro" / "store").glob("train/*"))  # nothing trained
    # the good videos' extraction is kept: switching to skip re-extracts nothing
    assert "frames" not in planned_jobs(work, configfiles=config_for(work, folders_dataset,
                                                                     "skip"))


def test_bad_videos_are_skipped_and_reported(tmp_path, folders_dataset):
    work = make_workdir(tmp_path / "w")
    snakemake(work, configfiles=config_for(work, folders_dataset, "skip"))
    view = work / "results" / "bad-skip"
    bad = pd.read_csv(view / "bad_videos.csv")
    assert sorted(bad["video_id"]) == ["devel--bonafide--client002_empty",
                                       "test--attack--client003_broken",
                                       "train--bonafide--client001_partial"]
    assert "test--attack--client003_broken" in (view / "data_report.md").read_text()
    assert "empty" in " ".join(bad["reason"])


@pytest.mark.slow  # about 2 minutes: a whole run, killed, then completed
def test_interrupted_run_completes_on_rerun(tmp_path):
    work = make_workdir(tmp_path / "w")
    synth(work)  # else planning stops at once and the wait below runs out, never killing a job
    bindir = Path(sys.executable).parent
    proc = subprocess.Popen([str(bindir / "snakemake"), "--cores", "2", "--configfile",
                             "config/tiny.yaml"], cwd=work, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"})
    logs = work / ".biorepro" / "logs" / "train"
    deadline = time.monotonic() + 300
    while not (logs.is_dir() and any(logs.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before any training job started"
    time.sleep(2)  # inside a training job
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    store = work / ".biorepro" / "store"
    for entry in store.glob("[!.]*/*"):
        assert entry.name.startswith(TMP_PREFIX) or is_published(entry), entry
    snakemake(work, "--unlock")  # a hard kill leaves Snakemake's own lock behind
    snakemake(work)
    assert (work / "results" / "tiny" / "summary.md").is_file()
    for entry in store.glob("[!.]*/*"):
        assert entry.name.startswith(TMP_PREFIX) or is_published(entry), entry


def refused(work, *args, configfiles=("config/tiny.yaml",)) -> str:
    """The error of a run stopped at planning: before any job, nothing in the store."""
    proc = snakemake(work, *args, configfiles=configfiles, check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "biorepro: " in text, text[-3000:]
    assert "Job stats:" not in text
    assert not list((work / ".biorepro" / "store").glob("[!.]*/*"))
    return text


def dataset_config(work, dataset):
    (work / "dataset.yaml").write_text(yaml.safe_dump({**SMALL, "dataset": dataset}))
    return ("config/tiny.yaml", "dataset.yaml")


def test_test_split_without_attacks_is_refused(tmp_path):
    data = tmp_path / "data"
    for split in ("train", "devel", "test"):
        for cls in ("bonafide", "print") if split != "test" else ("bonafide",):
            (data / split / cls).mkdir(parents=True)
            (data / split / cls / f"{split}_{cls}.mov").write_bytes(b"x")
    work = make_workdir(tmp_path / "w")
    text = refused(work, configfiles=dataset_config(work, {"kind": "folders",
                                                           "root": str(data)}))
    assert "split 'test' has 1 bona fide and 0 attack videos" in text
    assert "add attack videos to it" in text


def test_unknown_manifest_column_is_refused(tmp_path):
    (tmp_path / "a.mov").write_bytes(b"x")
    (tmp_path / "m.csv").write_text("path,label,subject,attack-type\na.mov,attack,s1,print\n")
    work = make_workdir(tmp_path / "w")
    text = refused(work, configfiles=dataset_config(work, {"kind": "manifest",
                                                           "manifest": str(tmp_path / "m.csv")}))
    assert "unknown column(s) ['attack-type']" in text
    assert "split, attack_type, annotations (optional)" in text


def test_duplicate_seed_is_refused(tmp_path):
    text = refused(make_workdir(tmp_path / "w"), "--config", "seeds=[0,1,0]")
    assert "config key 'seeds': duplicate value 0 (expected: " in text


def test_numbers_from_yaml_and_command_line(tmp_path):
    """``learning_rate: 1e-4`` (a string to PyYAML) and ``--config seeds=[...]`` (strings
    to Snakemake) plan as numbers: the training jobs are those of the numbers written
    as numbers."""
    work = make_workdir(tmp_path / "w")
    (work / "lr.yaml").write_text("train:\n  learning_rate: 1e-4\n")
    (work / "numbers.yaml").write_text("train:\n  learning_rate: 0.0001\nseeds: [0, 1, 2]\n")

    def training_jobs(*args, configfiles):
        out = snakemake(work, "-n", "--quiet", "reason", *args, configfiles=configfiles)
        return re.findall(r"output: \S+/train/([0-9a-f]+)", out.stdout + out.stderr)

    as_text = training_jobs("--config", "seeds=[0,1,2]", configfiles=("config/tiny.yaml",
                                                                       "lr.yaml"))
    assert len(as_text) == 3
    assert sorted(as_text) == sorted(training_jobs(configfiles=("config/tiny.yaml",
                                                                "numbers.yaml")))
    assert not list((work / ".biorepro" / "store").glob("[!.]*/*"))


def test_user_model_errors_stop_planning_naming_the_file(tmp_path, monkeypatch):
    work = make_workdir(tmp_path / "w")
    (work / "net.py").write_text("def make(input_shape):\n    return None\n")
    (work / "model.yaml").write_text("train:\n  model: net.py:build\n  model_params: null\n")
    text = refused(work, configfiles=("config/tiny.yaml", "model.yaml"))
    assert f"{work / 'net.py'} defines no top-level function 'build'" in text
    assert "(it defines: make)" in text
    (work / "net.py").write_text("def build(input_shape):\n    return 1 / 0\n")
    text = refused(work, configfiles=("config/tiny.yaml", "model.yaml"))
    assert f"{work / 'net.py'}:build raised ZeroDivisionError" in text
    (work / "model.yaml").write_text("train:\n  model: resnet50\n  weights: imagenet\n"
                                     "  model_params: null\n")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    text = refused(work, configfiles=("config/tiny.yaml", "model.yaml"))
    cached = tmp_path / "keras" / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert f"needs Keras' weights file {cached}" in text and "never downloaded" in text

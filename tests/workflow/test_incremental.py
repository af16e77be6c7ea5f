"""The store's promises, checked with real snakemake runs on config/tiny.yaml.

The tests share one working directory and run in file order: the first runs the whole
pipeline, the others count what a dry run would do after one change.
"""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pandas as pd
import pytest
import yaml

from biorepro import config as cfg
from biorepro.plan import dataset_records
from tests.conftest import MODELS
from tests.workflow.smk import (
    copy_library,
    extracted_videos,
    make_workdir,
    planned_jobs,
    snakemake,
)

STORE_RULES = ("split", "tensors", "train", "metrics", "summary")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return make_workdir(tmp_path_factory.mktemp("wf"))


def tiny_records(work):
    conf = cfg.validate(cfg.load([work / "config/config.yaml", work / "config/tiny.yaml"]))
    cwd = os.getcwd()
    os.chdir(work)
    try:
        return [dataclasses.replace(r, path=str(work / r.path))
                for r in dataset_records(conf)["all"]]
    finally:
        os.chdir(cwd)


def override(work, name, data):
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return ("config/tiny.yaml", path.name)


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


def test_full_run_publishes_results(work):
    proc = snakemake(work)
    console = (proc.stdout + proc.stderr).splitlines()
    # one progress line per stage, no per-job lines, no framework notices
    assert sum(" done in " in line for line in console) == 7, console  # 7 stages
    assert len(console) < 45, "\n".join(console)
    assert not [line for line in console if "Finished jobid" in line or "cuda" in line
                or "steps (" in line or "Select jobs" in line], console
    view = work / "results" / "tiny"
    assert (view / "data_report.md").is_file()
    assert (view / "STORE_ENTRY").is_file()
    store = work / ".biorepro" / "store"
    for stage in ("frames", "split", "tensors"):
        assert any((store / stage).iterdir()), stage
    assert not list(store.glob("*/.tmp-*")), "temporary entries left behind"


def test_every_figure_of_the_view_reads_well(work):
    """Each figure's texts (matplotlib writes each text drawn as paths as a comment): no
    word twice in a row ("seed seed 0"), whole runs on best-of-k axes, and the stage graph
    of the plan names every stage."""
    figures = sorted((work / "results" / "tiny").glob("**/*.svg"))
    assert len(figures) >= 9, figures
    for svg in figures:
        texts = re.findall(r"<!-- (.*?) -->", svg.read_text())
        assert texts, svg.name
        for text in texts:
            words = text.split()
            assert not [a for a, b in zip(words, words[1:]) if a == b], (svg.name, text)
        if svg.name.startswith("expected_best"):  # x: the number of runs k
            ticks = re.findall(r'<g id="xtick_\d+">.*?<!-- (.*?) -->', svg.read_text(), re.S)
            assert ticks and all(t.isdigit() for t in ticks), (svg.name, ticks)
    graph = re.findall(r"<!-- (.*?) -->", (work / "results" / "tiny" / "stages.svg").read_text())
    for stage in ("frames", "split", "tensors", "train", "metrics", "summary"):
        assert stage in graph


def test_second_run_plans_nothing(work):
    assert planned_jobs(work) == {}
    dry = snakemake(work, "-n", generate=False)
    assert "missing provenance/metadata" not in dry.stdout + dry.stderr


def store_counts(work) -> dict[str, int]:
    store = work / ".biorepro" / "store"
    return {stage: len([d for d in (store / stage).iterdir() if not d.name.startswith(".")])
            for stage in ("frames", *STORE_RULES)}


def status(work, *configfiles, env=None) -> str:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "biorepro"), "status", "--configfile",
         *(configfiles or ("config/tiny.yaml",))],
        cwd=work, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


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


def test_user_model_file_trains_and_only_its_code_retrains(work):
    """A model file of the user's folder (with a module of its own) trains on the tiny
    config; its provenance names the file; a comment edit retrains nothing, a code edit
    in the module it imports retrains every seed and nothing upstream."""
    shutil.copytree(MODELS, work / "models")
    mine = override(work, "mine", {"train": {"model": "models/tiny_net.py:build",
                                             "model_params": None}})  # tiny.yaml's widths
    jobs = planned_jobs(work, configfiles=mine)
    assert jobs == {"train": 2, "metrics": 4, "summary": 1, "view": 1, "all": 1}, jobs
    snakemake(work, configfiles=mine, generate=False)
    provenance = [json.loads(p.read_text()) for p in
                  (work / ".biorepro" / "store" / "train").glob("*/provenance.json")]
    named = [p["observed"]["model_file"] for p in provenance if "model_file" in p["observed"]]
    assert len(named) == 2 and named[0]["path"] == str(work / "models" / "tiny_net.py")
    net, blocks = work / "models" / "tiny_net.py", work / "models" / "blocks.py"
    net.write_text(net.read_text().replace("def build(", "# sized for 32 px\ndef build("))
    assert planned_jobs(work, configfiles=mine) == {}
    blocks.write_text(blocks.read_text().replace("MaxPooling2D(2)", "MaxPooling2D(3)"))
    jobs = planned_jobs(work, configfiles=mine)
    assert jobs == {"train": 2, "metrics": 4, "summary": 1, "view": 1, "all": 1}, jobs
    snakemake(work, generate=False)  # the view shows the tiny config's results again


def test_status_explains_what_would_run(work):
    changed = override(work, "size40", {"extract": {"size": 40}})
    said = status(work, *changed)
    assert "params.size: 48 -> 40" in said
    # downstream entries: their keys wait for the new frames' content
    assert "may rerun: waits for frames" in said and "may rerun: waits for split" in said


def test_verify_retrains_and_reports_bit_identity(work):
    snakemake(work, "verify")
    report = json.loads((work / "results" / "tiny" / "determinism.json").read_text())
    assert report["all_identical"] is True
    assert [s["seeds"]["init"] for s in report["seeds"]] == [0]
    assert report["seeds"][0]["max_abs_weight_diff"] == 0.0
    snakemake(work)  # the view is refreshed; the determinism report stays
    assert (work / "results" / "tiny" / "determinism.json").is_file()


def test_report_is_generated(work):
    snakemake(work, "--report", "report.html")
    html = (work / "report.html").read_text()
    assert "training_curves" in html and "tiny" in html


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--enable-logging=stderr",
                  "--v=0", "--virtual-time-budget=5000", "--window-size=1400,1000")


def test_report_renders_in_headless_chromium(work, tmp_path):
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does)")
    shot = work / "report.png"
    proc = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           f"--screenshot={shot}", (work / "report.html").as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console_errors = [line for line in proc.stderr.splitlines()
                      if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]
    assert not console_errors, console_errors
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (1000, 1400)
    assert image.std() > 5  # not a blank page


def test_variants_share_entries_and_are_compared(work):
    conf = override(work, "variants", {"experiments": {
        "minhter": {"evaluate": {"criterion": "min-hter"}},
        "unstable": {"train": {"learning_rate": 1e30}, "seeds": [0, 1]}}})
    jobs = planned_jobs(work, configfiles=conf)
    # the base experiment is in the store; min-hter reuses its training; the diverging
    # variant trains its own seeds
    assert jobs["train"] == 2 and jobs["compare"] == 1, jobs
    assert "tensors" not in jobs and "frames" not in jobs
    snakemake(work, configfiles=conf)
    unstable = pd.read_csv(work / "results" / "unstable" / "per_seed_video.csv")
    assert set(unstable["status"]) == {"diverged"} and unstable["test_hter"].isna().all()
    assert "Diverged seeds: 0, 1" in (work / "results" / "unstable" / "summary.md").read_text()
    table = pd.read_csv(work / "results" / "comparisons" / "comparison_video.csv")
    assert {(a, b) for a, b in zip(table["a"], table["b"])} == {
        ("tiny", "minhter"), ("tiny", "unstable"), ("minhter", "unstable")}
    assert (work / "results" / "comparisons" / "comparison_video.tex").read_text().count(
        "\\toprule") == 1

"""What a finished run gives, checked with real snakemake runs on config/tiny.yaml: the
console, the results view and its figures, status, the determinism check, the report, a
user's model file, and variants of the experiment.

The tests share one working directory whose store holds the whole pipeline's entries
(see ``tiny_workdir``) and run in file order.
"""

import json
import re
import shutil
import subprocess

import cv2
import pandas as pd
import pytest

from tests.conftest import MODELS
from tests.workflow.smk import (
    finished_tiny_run,
    override,
    planned_jobs,
    snakemake,
    status,
    tiny_workdir,
)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tiny_workdir(tmp_path_factory, "results")


def test_full_run_publishes_results(tmp_path_factory):
    work, console = finished_tiny_run(tmp_path_factory)
    console = console.splitlines()
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
    # every selection rule from the runs' per-epoch scores, beside the optimism
    rules = pd.read_csv(view / "selection_video.csv")
    assert len(rules) == 7 and (rules["n"] == 2).all()
    assert rules["checkpoint"].tolist()[-1] == "optimism"
    per_seed = {json.loads((m / "metrics.json").read_text())["seed"]: m
                for m in (store / "metrics").iterdir()
                if json.loads((m / "metrics.json").read_text())["level"] == "video"}
    optimisms = [json.loads((m / "metrics.json").read_text())["selection"]["optimism"]
                 for m in per_seed.values()]
    assert rules["test_hter_mean"].iloc[-1] == pytest.approx(sum(optimisms) / 2)
    summary = (view / "summary.md").read_text()
    assert "#### Selection rules" in summary and "honest rule minus the literature" in summary


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

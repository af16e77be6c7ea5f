"""A randomness design through the real workflow: runs keyed by their seeds, trained
several per process, and the summary's answer to "why do results change?"."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.workflow.smk import make_workdir, planned_jobs, snakemake

pytestmark = pytest.mark.slow  # about 2 minutes: run by .ci/run after make test

DESIGN = {"randomness": {"init": [0, 1], "order": [0, 1], "noise": [0, 1]},
          "train": {"seeds_per_process": 2}}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    work = make_workdir(tmp_path_factory.mktemp("rand"))
    (work / "design.yaml").write_text(yaml.safe_dump(DESIGN))
    return work


CONFIGS = ("config/tiny.yaml", "design.yaml")


def test_a_design_trains_its_runs_in_shared_processes_and_explains_the_spread(work):
    jobs = planned_jobs(work, configfiles=CONFIGS)
    assert jobs["train"] == 2 and jobs["metrics"] == 8  # 4 runs, 2 per process, 2 levels
    snakemake(work, configfiles=CONFIGS)
    results = work / "results" / "tiny"
    per_run = pd.read_csv(results / "per_seed_video.csv")
    assert list(per_run["seed"]) == ["i0-o0-n0", "i1-o0-n0", "i0-o1-n0", "i0-o0-n1"]
    # first law: each train entry holds what its key says, and the runs differ
    store = work / ".biorepro" / "store" / "train"
    weights = {}
    for entry in store.iterdir():
        result = json.loads((entry / "result.json").read_text())
        key = json.loads((entry / "provenance.json").read_text())["ingredients"]["params"]
        assert result["seeds"] == key["seeds"]
        weights[tuple(result["seeds"].values())] = result["weights_sha256"]
    assert len(weights) == 4 and len(set(weights.values())) == 4
    shares = pd.read_csv(results / "variance_video.csv")
    assert set(shares["component"]) == {"init", "order", "noise"}
    hter = shares[shares["metric"] == "test_hter"]
    assert hter["n_runs"].tolist() == [2, 2, 2]
    assert hter["share"].sum() == pytest.approx(1.0) or hter["share"].isna().all()
    spread = pd.read_csv(results / "sampling_video.csv").set_index("metric")
    assert spread.loc["test_hter", "mean"] == pytest.approx(per_run["test_hter"].mean())
    assert spread.loc["test_hter", "n_runs"] == 4
    best = pd.read_csv(results / "expected_best_video.csv")
    assert best["k"].tolist() == [1, 2, 3, 4]
    summary = (results / "summary.md").read_text()
    assert "## Why do results change?" in summary and "**By source**" in summary
    assert "**Training vs test sampling**" in summary and "**Seed budget**" in summary
    page = (results / "why.html").read_text()
    assert page.count("data:image/png;base64,") == 4  # variance and best-of-k, 2 levels
    assert (results / "figures" / "variance_video.svg").is_file()


def test_the_report_lands_on_each_experiments_answer(work):
    snakemake(work, "--report", "report.html", configfiles=CONFIGS)
    html = Path(work / "report.html").read_text()
    assert "By source" in html and "test_hter" in html and "why.html" in html


def test_the_plain_seed_and_the_designs_baseline_share_their_training(work):
    plain = {"seeds": [0], "train": {"seeds_per_process": 1}}
    (work / "plain.yaml").write_text(yaml.safe_dump(plain))
    jobs = planned_jobs(work, configfiles=("config/tiny.yaml", "plain.yaml"))
    assert "train" not in jobs and jobs["metrics"] == 2  # new labels, same trained model

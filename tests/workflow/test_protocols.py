"""Folds × seeds and cross-dataset testing, with real snakemake runs on a stand-in
OULU-NPU tree (real naming and protocol lists; videos made by ffmpeg).

The tests share one working directory and run in file order.
"""

import subprocess
import zlib

import pandas as pd
import pytest
import yaml

from biorepro.data.protocols import card_records
from tests.data.test_protocols import oulu_tree
from tests.workflow.smk import extracted_videos, make_workdir, planned_jobs, snakemake


def ffmpeg_video(path, data: bytes):
    """A 1-s 64×48 MPEG-4 .avi whose noise is seeded by ``data`` (each video its own
    content); bona fide videos (file code 1) are brighter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    seed, bright = zlib.crc32(data) >> 1, 0.3 if data.endswith(b"_1") else -0.3
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=64x48:rate=10:duration=1,eq=brightness={bright},"
                    f"noise=alls=30:allf=t:all_seed={seed}",
                    "-c:v", "mpeg4", "-q:v", "3", str(path)], check=True)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    work = make_workdir(tmp_path_factory.mktemp("protocols"))
    oulu_tree(work / "oulu", phones=(1, 2), write=ffmpeg_video)
    return work


def config(work, name, folds, threshold_from="target-devel"):
    conf = {"experiment": "p3", "seeds": [0],
            "dataset": {"kind": "oulu-npu", "root": "oulu", "protocol": "Protocol_3",
                        "folds": folds},
            "extract": {"n_frames": 2},
            "evaluate": {"cross": [{"name": "p1", "threshold_from": threshold_from,
                                    "dataset": {"kind": "oulu-npu", "root": "oulu",
                                                "protocol": "Protocol_1"}}]},
            "train": {"epochs": 1}}
    (work / f"{name}.yaml").write_text(yaml.safe_dump(conf))
    return ("config/tiny.yaml", f"{name}.yaml")


def test_one_fold_trains_scores_the_cross_target_and_reports_it(work):
    snakemake(work, configfiles=config(work, "fold1", [1]), generate=False)
    per_run = pd.read_csv(work / "results/p3/per_seed_video.csv", dtype={"fold": str})
    assert per_run[["fold", "run"]].values.tolist() == [["1", "1/0"]]
    cross = pd.read_csv(work / "results/p3/cross_video.csv")
    assert set(cross["test"]) == {"p1"} and set(cross["threshold_from"]) == {"target devel"}
    assert not (work / "results/p3/folds_video.csv").exists()  # one fold: no fold table


def test_adding_a_fold_trains_only_that_fold(work):
    jobs = planned_jobs(work, configfiles=config(work, "fold12", [1, 2]))
    seen = {r.path for proto, fold in (("Protocol_3", "1"), ("Protocol_1", "all"))
            for r in card_records("oulu-npu", work / "oulu", proto, fold)}
    new = {r.path for r in card_records("oulu-npu", work / "oulu", "Protocol_3", "2")} - seen
    assert new and extracted_videos(work, configfiles=config(work, "fold12", [1, 2])) == len(new)
    assert (jobs["split"], jobs["tensors"], jobs["train"], jobs["cross"]) == (1, 1, 1, 1)
    snakemake(work, configfiles=config(work, "fold12", [1, 2]), generate=False)
    folds = pd.read_csv(work / "results/p3/folds_video.csv", dtype={"fold": str})
    hter = folds[folds["metric"] == "test_hter"].set_index("fold")
    assert list(hter.index) == ["1", "2", "across folds", "all runs"]
    assert hter.loc["across folds", "mean"] == pytest.approx(hter.loc[["1", "2"], "mean"].mean())
    assert hter.loc["across folds", "std"] == pytest.approx(
        hter.loc[["1", "2"], "mean"].std(ddof=0))  # as bob's multi-metrics
    summary = pd.read_csv(work / "results/p3/summary_video.csv").set_index("metric")
    assert summary.loc["test_hter", "mean"] == pytest.approx(hter.loc["across folds", "mean"])
    assert "Folds: 1, 2" in (work / "results/p3/summary.md").read_text()
    assert (work / "results/p3/folds/2/data_report.md").is_file()


def test_changing_the_cross_threshold_rule_recomputes_only_its_metrics(work):
    jobs = planned_jobs(work, configfiles=config(work, "testeer", [1, 2], "test"))
    assert set(jobs) - {"all"} == {"metrics", "summary", "view"}
    assert jobs["metrics"] == 2 * 2  # the cross metrics of 2 folds × 2 levels

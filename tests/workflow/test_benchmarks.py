"""A multi-source benchmark end to end: two legs of ``ocim`` with two seeds, with a real
snakemake run on stand-in trees of OULU-NPU, CASIA-FASD, Replay-Attack and MSU-MFSD
(their real names; 1-s videos made by ffmpeg, six per database)."""

from pathlib import Path

import pandas as pd

from tests.data.test_protocols import REPLAY_ATTACKS, casia_tree, msu_tree, oulu_tree, replay_files
from tests.workflow.smk import make_workdir, override, snakemake
from tests.workflow.test_protocols import ffmpeg_video


def video(path: Path, data: bytes) -> None:
    """A stand-in video, brighter when bona fide (in any of the four layouts)."""
    bona_fide = "/real/" in str(path) or data.endswith(b"_1")
    ffmpeg_video(path, data + (b"_1" if bona_fide and not data.endswith(b"_1") else b""))


def test_two_legs_train_on_their_sources_and_test_on_their_target(tmp_path_factory):
    work = make_workdir(tmp_path_factory.mktemp("ocim"))
    oulu_tree(work / "oulu", phones=(1,), files=(1, 2), sessions=(1,), write=video)
    casia_tree(work / "casia", folders=(("train", 2), ("test", 1)), codes=("1", "3"),
               write=video)
    replay_files(work / "replay", attacks=REPLAY_ATTACKS[:1], write=video)
    msu_tree(work / "msu", clients=((1, "mp4"), (2, "mp4"), (3, "mov")), train=(1, 2),
             test=(3,), write=video)
    conf = {"experiment": "dg", "seeds": [0, 1],
            "dataset": {"kind": "ocim", "folds": ["OCI-M", "OMI-C"],
                        "roots": {"O": "oulu", "C": "casia", "I": "replay", "M": "msu"}},
            "extract": {"n_frames": 2},
            "train": {"epochs": 2, "score_every": 1, "balance": "label×domain"}}
    snakemake(work, configfiles=override(work, "dg", conf), generate=False)
    out = work / "results" / "dg"

    for leg, sources, target in (("OCI-M", "OCI", "M"), ("OMI-C", "OMI", "C")):
        split = pd.read_csv(out / "folds" / leg / "split.csv", keep_default_na=False)
        videos = split.drop_duplicates("video_id")
        domains = {s: set(videos.loc[videos["split"] == s, "domain"]) for s in
                   ("train", "devel", "test")}
        assert domains == {"train": set(sources), "devel": {"O", "I"}, "test": {target}}
        assert (videos["video_id"].str.split("--").str[0] == videos["domain"]).all()
        train = set(videos.loc[videos["split"] == "train", "video_id"])
        # a source's train and test videos train; its devel videos never do
        assert {"O--Test_files--1_1_36_1", "I--test--real--client003_session01_webcam_"
                "authenticate_adverse_1"} <= train
        assert not any("Dev_files" in v or "--devel--" in v for v in train)
        devel = set(videos.loc[videos["split"] == "devel", "video_id"])
        assert all("Dev_files" in v or "--devel--" in v for v in devel) and len(devel) == 4
        # the target: all six of its videos (neither C nor M has a devel set)
        assert (videos["split"] == "test").sum() == 6
        assert "domain" in (out / "folds" / leg / "data_report.md").read_text()

    store = work / ".biorepro" / "store"
    assert len(list((store / "frames").iterdir())) == 24  # each video once, shared by legs
    trained = {frozenset(pd.read_csv(p, keep_default_na=False)["domain"])
               for p in store.glob("tensors/*/train/videos.csv")}
    assert trained == {frozenset("OCI"), frozenset("OMI")}

    per_run = pd.read_csv(out / "per_seed_video.csv")
    assert sorted(per_run["run"]) == ["OCI-M/0", "OCI-M/1", "OMI-C/0", "OMI-C/1"]
    legs = pd.read_csv(out / "legs_video.csv")
    assert set(legs["title"]) == {"O&C&I→M", "O&M&I→C"}
    assert set(legs["row"]) == {"test_hter", "test_auc", "test_tpr_at_fpr_1pct", "literature",
                                "optimism"}
    assert (legs["n"] == 2).all()
    table = (out / "legs_video.md").read_text()
    assert "O&C&I→M" in table and "TPR@FPR=1%" in table and "optimism" in table
    assert "#### Legs" in (out / "summary.md").read_text()

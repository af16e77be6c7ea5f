import json
import os

import numpy as np
import pandas as pd
import pytest

from biorepro.data.frames import extract_video
from biorepro.data.records import VideoRecord
from biorepro.data.split_folders import LeakageError, build_split_folders, check_leakage
from biorepro.data.tensors import build_tensor_cache, load_split
from biorepro.jobs import split as split_job
from biorepro.store.entries import staging, write_provenance
from tests.conftest import extract_params


@pytest.fixture
def split_entry(tmp_path, video_factory):
    items = []
    for i, (split, label) in enumerate([("train", "bonafide"), ("train", "attack"),
                                        ("devel", "bonafide"), ("devel", "attack"),
                                        ("test", "bonafide"), ("test", "attack")]):
        video = video_factory(f"{split}-{label}.mov", 10)
        frames = tmp_path / "frames" / str(i)
        extract_video(video, frames, extract_params(n_frames=3, size=12))
        rec = VideoRecord(f"{split}-{label}", str(video), label, f"s-{split}", split,
                          "print" if label == "attack" else "")
        items.append((rec, frames))
    counts = build_split_folders(items, tmp_path / "split")
    return tmp_path / "split", items, counts


def test_layout_hard_links_and_csv(split_entry):
    out, items, counts = split_entry
    assert counts == {"frames": 18, "fta": {"train": 0, "devel": 0, "test": 0}}
    png = out / "train" / "bonafide" / "train-bonafide__00000.png"
    source = items[0][1] / "frames" / "00000.png"
    assert png.read_bytes() == source.read_bytes()
    assert os.stat(png).st_ino != os.stat(source).st_ino  # a copy: no file shared
    table = pd.read_csv(out / "split.csv", keep_default_na=False)
    assert list(table.columns) == ["split", "label", "attack_type", "subject", "video_id",
                                   "frame", "file", "fta", "domain"]
    assert (table["domain"] == "").all()  # one dataset: no source domain
    assert len(table) == 18 and set(table["split"]) == {"train", "devel", "test"}


def test_keras_loads_a_split_folder_as_is(split_entry):
    import keras

    ds = keras.utils.image_dataset_from_directory(split_entry[0] / "train", image_size=(12, 12),
                                                  batch_size=4, shuffle=False)
    assert ds.class_names == ["attack", "bonafide"]
    assert sum(int(x.shape[0]) for x, _ in ds) == 6


def test_tensor_cache(split_entry, tmp_path):
    out, _, _ = split_entry
    counts = build_tensor_cache(out, tmp_path / "t", 8)
    assert counts == {"train": 6, "devel": 6, "test": 6}
    train = load_split(tmp_path / "t", "train")
    assert isinstance(train.images, np.memmap) and train.images.shape == (6, 8, 8, 3)
    assert train.images.dtype == np.uint8
    assert list(train.labels) == [0, 0, 0, 1, 1, 1]  # sorted by video id: attack first
    assert list(train.frame_index) == [0, 1, 2, 0, 1, 2]
    assert list(train.videos["video_id"].iloc[train.video_index]) == ["train-attack"] * 3 + [
        "train-bonafide"] * 3


def test_leakage_by_subject_and_by_content():
    a = VideoRecord("a", "/d/a.mov", "bonafide", "s1", "train")
    b = VideoRecord("b", "/d/b.mov", "bonafide", "s1", "test")
    with pytest.raises(LeakageError, match=r"subject.*/d/a.mov \(train\).*/d/b.mov \(test\)"):
        check_leakage([a, b], {"/d/a.mov": "x", "/d/b.mov": "y"})
    c = VideoRecord("c", "/d/c.mov", "bonafide", "s2", "test")
    with pytest.raises(LeakageError, match="identical video content"):
        check_leakage([a, c], {"/d/a.mov": "same", "/d/c.mov": "same"})
    check_leakage([a, c], {"/d/a.mov": "x", "/d/c.mov": "y"})


def test_bad_videos_fail_naming_each_path_and_where_skipped_ones_are_listed(tmp_path):
    videos, frames = {}, {}
    for i, reason in enumerate(("file is empty (0 bytes)", "video stream has no frames")):
        vid = f"attack--v{i}"
        videos[vid] = {"label": "attack", "subject": f"s{i}", "split": "test",
                       "attack_type": "print"}
        frames[vid] = str(tmp_path / vid)
        with staging(frames[vid]) as tmp:
            (tmp / "frames.json").write_text(json.dumps({"bad": True, "reason": reason}))
            write_provenance(tmp, {}, {"video": f"/data/attack/v{i}.mov"})
    job = {"ingredients": {"params": {"on_bad_video": "fail", "videos": videos}},
           "inputs": {"frames": frames}}
    with pytest.raises(split_job.BadVideosError) as err:
        split_job.build(job, tmp_path / "entry", print)
    message = str(err.value)
    assert "attack--v0 (first extracted from /data/attack/v0.mov): file is empty" in message
    assert "attack--v1 (first extracted from /data/attack/v1.mov): video stream has no" in message
    assert "results/<experiment>/bad_videos.csv and data_report.md" in message

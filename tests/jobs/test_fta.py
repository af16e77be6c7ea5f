"""Failures to acquire, from the frames entries to the metrics: never trained on, scored NaN,
counted as FTA per split."""

import json

import keras
import numpy as np
import pandas as pd

from biorepro.aggregate.datareport import data_report
from biorepro.data.frames import extract_video
from biorepro.data.tensors import build_tensor_cache, load_split
from biorepro.evaluate.seed import evaluate
from biorepro.jobs import split as split_job
from biorepro.store.entries import staging, write_provenance
from biorepro.train.fit import score_split
from tests.conftest import extract_params
from tests.data.test_faces import BOX, face_video, write_face_file

PARAMS = extract_params(n_frames=3, crop="annotations", size=8, face_scale=1.0)
NO_FACE = {"test-attack": range(12), "test-bonafide": [2]}  # frames 2, 6, 10 are chosen


def test_fta_frames_are_left_out_of_training_and_scored_nan(tmp_path):
    videos, frames = {}, {}
    for split in ("train", "devel", "test"):
        for label in ("bonafide", "attack"):
            vid = f"{split}-{label}"
            video = face_video(tmp_path / f"{vid}.mov")
            boxes = {k: (0, 0, 0, 0) if k in NO_FACE.get(vid, ()) else BOX for k in range(12)}
            ann = write_face_file(tmp_path / f"{vid}.face", boxes)
            frames[vid] = str(tmp_path / "frames" / vid)
            with staging(frames[vid]) as tmp:
                extract_video(video, tmp, PARAMS, ann)
                write_provenance(tmp, {}, {})
            videos[vid] = {"label": label, "subject": vid, "split": split,
                           "attack_type": "print" if label == "attack" else ""}
    meta = json.loads((tmp_path / "frames" / "test-bonafide" / "frames.json").read_text())
    assert meta["frame_indices"] == [2, 6, 10] and meta["fta_frames"] == [2]
    job = {"ingredients": {"params": {"on_bad_video": "fail", "videos": videos}},
           "inputs": {"frames": frames}}
    lines = []
    counts = split_job.build(job, tmp_path / "split", lines.append)
    assert counts["fta"] == {"train": 0, "devel": 0, "test": 4} and counts["frames"] == 14
    assert "failures to acquire (no face, no image): train 0, devel 0, test 4" in lines[-1]
    table = pd.read_csv(tmp_path / "split" / "split.csv", keep_default_na=False)
    fta = table[table["fta"] == 1]
    assert list(zip(fta["video_id"], fta["frame"])) == [
        ("test-attack", 0), ("test-attack", 1), ("test-attack", 2), ("test-bonafide", 0)]
    assert set(fta["file"]) == {""}
    report = data_report(tmp_path / "split")[0].set_index(["split", "label"])
    assert report.loc[("test", "attack"), ["frames", "fta_frames"]].tolist() == [0, 3]
    assert report.loc[("test", "bonafide"), ["frames", "fta_frames"]].tolist() == [2, 1]

    assert build_tensor_cache(tmp_path / "split", tmp_path / "t", 8) == {
        "train": 6, "devel": 6, "test": 2}
    test = load_split(tmp_path / "t", "test")
    assert list(test.videos["video_id"]) == ["test-attack", "test-bonafide"]
    assert test.fta.tolist() == [[0, 0], [0, 1], [0, 2], [1, 0]]
    assert load_split(tmp_path / "t", "train").fta.shape == (0, 2)

    inputs = keras.Input((8, 8, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1 / 255)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(pooled))
    scores = {s: score_split(model, tmp_path / "t", s) for s in ("devel", "test")}
    got = scores["test"]
    assert list(zip(got["video_id"], got["frame"])) == [  # images first, then FTA frames
        ("test-bonafide", 1), ("test-bonafide", 2),
        ("test-attack", 0), ("test-attack", 1), ("test-attack", 2), ("test-bonafide", 0)]
    assert list(np.isnan(got["score"])) == [False, False, True, True, True, True]
    assert not scores["devel"]["score"].isna().any()
    frame = evaluate(scores["devel"], got, level="frame")
    assert frame["test_fta"] == 4 / 6 and frame["devel_fta"] == 0
    assert frame["test_n_bonafide"] == 2 and frame["test_n_attack"] == 0
    video = evaluate(scores["devel"], got, level="video")
    assert video["test_fta"] == 1 / 2  # the attack video has no frame with a face

"""The frames stage through the job adapter: a batch of videos, one entry each."""

import importlib.metadata
import json
from pathlib import Path

import cv2
import pytest

from biorepro.data.faces import DetectorError, detector_identity
from biorepro.data.frames import ExtractParams, extract_video
from biorepro.data.records import VideoRecord
from biorepro.jobs.run import run_jobs
from biorepro.plan import frames_params, frames_sources, make_entry
from biorepro.store.entries import check_entry, is_published
from biorepro.store.hashing import file_digest
from biorepro.store.layouts import FRAMES

PARAMS = {"n_frames": 4, "fps": None, "crop": "center", "size": 8, "face_scale": 1.3,
          "no_face": "fta", "min_face_confidence": 0.9}


def frames_entry(store, video, annotations="", digest=file_digest, **params):
    """The frames entry of ``video`` as planning makes it (``digest`` gives files' SHA-256)."""
    params = {**PARAMS, **params}
    record = VideoRecord("v", str(video), "bonafide", "s", annotations=str(annotations))
    conf = {"extract": params, "dataset": {"kind": "folders"}}
    return make_entry(str(store), "frames", frames_params(conf, digest),
                      frames_sources(record, digest(video), params["crop"], digest))


def run(tmp_path, entries, log="log.txt"):
    run_jobs([e.job() for e in entries], str(tmp_path / "run" / "frames" / "batch"),
             str(tmp_path / log))
    return (tmp_path / log).read_text()


def test_batch_publishes_each_entry_and_marks_bad_ones(tmp_path, video_factory):
    good = video_factory("good.mov", 12)
    bad = tmp_path / "bad.mov"
    bad.write_text("nope")
    entries = [frames_entry(tmp_path / "s", good), frames_entry(tmp_path / "s", bad)]
    log = run(tmp_path, entries)
    assert all(is_published(e.path) and check_entry(e.path).ok for e in entries)
    marker = json.loads((tmp_path / "s" / "frames" / entries[1].key / FRAMES.meta()).read_text())
    assert marker["bad"] and "not a readable" in marker["reason"]
    assert "frames 1/2" in log and "BAD" in log
    listed = json.loads((tmp_path / "run" / "frames" / "batch").read_text())
    assert [(i["recipe"], i["key"], i["outcome"]) for i in listed] == [
        (e.recipe, e.key, "built") for e in entries]
    assert not list((tmp_path / "s" / "frames").glob(".tmp-*"))


@pytest.mark.parametrize("params", [
    {"size": 12}, {"n_frames": 3}, {"n_frames": None, "fps": 5.0}, {"crop": "face"},
    {"crop": "face", "no_face": "center"}, {"crop": "face", "face_scale": 2.0, "no_face": "center"},
])
def test_a_batch_mixing_parameters_builds_each_entry_with_its_own(tmp_path, video_factory,
                                                                   params):
    """Every entry holds what its own ingredients say, whatever else is in its batch."""
    video = video_factory("v.mov", 30, size=(96, 64))
    entries = [frames_entry(tmp_path / "s", video), frames_entry(tmp_path / "s", video, **params)]
    run(tmp_path, entries)
    for e in entries:
        own = ExtractParams.from_config(e.ingredients["params"])
        alone = tmp_path / "alone" / e.key
        extract_video(video, alone, own)
        got = sorted((tmp_path / "s" / "frames" / e.key).glob(FRAMES.image.glob))
        want = sorted(alone.glob(FRAMES.image.glob))
        assert [p.name for p in got] == [p.name for p in want]
        assert all(p.read_bytes() == q.read_bytes() for p, q in zip(got, want))
        assert all(cv2.imread(str(p)).shape[0] == own.size for p in got)
        meta = json.loads((tmp_path / "s" / "frames" / e.key / FRAMES.meta()).read_text())
        assert meta["frame_indices"] == json.loads((alone / FRAMES.meta()).read_text())[
            "frame_indices"]


def test_a_video_changed_since_planning_is_refused(tmp_path, video_factory, capsys):
    video = video_factory("v.mov", 12)
    entry = frames_entry(tmp_path / "s", video)
    video.write_bytes(video.read_bytes() + b"\0")
    with pytest.raises(SystemExit):  # a refusal: its message, no traceback
        run(tmp_path, [entry])
    assert "changed since the workflow was planned" in capsys.readouterr().err
    assert not is_published(entry.path)


def face_file(path, lines):
    path.write_text("".join(f"{k} 8 8 24 24\n" for k in lines))
    return path


def test_the_annotation_file_s_content_is_in_the_key_and_checked_by_the_job(tmp_path,
                                                                            video_factory,
                                                                            capsys):
    video = video_factory("v.mov", 12, size=(64, 48))
    ann = face_file(tmp_path / "v.face", range(12))
    entry = frames_entry(tmp_path / "s", video, ann, crop="annotations")
    assert entry.ingredients["inputs"] == {"video": file_digest(video),
                                           "annotations": file_digest(ann)}
    (tmp_path / "elsewhere").mkdir()
    copy = face_file(tmp_path / "elsewhere" / "v.face", range(12))  # same content elsewhere
    assert frames_entry(tmp_path / "s", video, copy, crop="annotations").key == entry.key
    changed = frames_entry(tmp_path / "s", video, face_file(tmp_path / "w.face", range(11)),
                           crop="annotations")
    assert changed.key != entry.key
    face_file(ann, range(10))  # edited after planning
    with pytest.raises(SystemExit):
        run(tmp_path, [entry])
    assert "v.face changed since the workflow was planned" in capsys.readouterr().err
    assert not is_published(entry.path)
    entry = frames_entry(tmp_path / "s", video, ann, crop="annotations")
    run(tmp_path, [entry])
    meta = json.loads((Path(entry.path) / FRAMES.meta()).read_text())
    assert meta["fta_frames"] == [10] and meta["frame_indices"] == [1, 4, 7, 10]


def test_planning_refuses_annotation_crops_for_a_video_without_annotations(tmp_path,
                                                                           video_factory):
    video = video_factory("v.mov", 12)
    with pytest.raises(ValueError, match=r"extract\.crop: annotations.*v\.mov has no annotation"):
        frames_entry(tmp_path / "s", video, crop="annotations")


@pytest.mark.parametrize("crop", ["face", "mtcnn"])
def test_the_detector_s_version_and_weights_are_in_the_key_and_checked(tmp_path, video_factory,
                                                                       monkeypatch, crop):
    video = video_factory("v.mov", 12)
    entry = frames_entry(tmp_path / "s", video, crop=crop)
    detector = entry.ingredients["params"]["detector"]
    assert detector == detector_identity(crop, file_digest)
    assert frames_entry(tmp_path / "s", video, crop=crop).key == entry.key
    other_weights = frames_entry(tmp_path / "s", video, crop=crop,
                                 digest=lambda p: file_digest(p) if p == video else "0" * 64)
    assert other_weights.key != entry.key
    if crop == "face":
        monkeypatch.setattr(cv2, "__version__", "0.0.0")
    else:
        version = importlib.metadata.version
        monkeypatch.setattr(importlib.metadata, "version",
                            lambda name: "0.0.0" if name == "mtcnn" else version(name))
    assert frames_entry(tmp_path / "s", video, crop=crop).key != entry.key
    with pytest.raises(DetectorError, match=rf"extract\.crop: {crop}: the installed detector"):
        run(tmp_path, [entry])  # planned with the real one, the installed one is now another
    assert not is_published(entry.path)

import json

import cv2
import numpy as np
import pytest

from biorepro.data.frames import ExtractJob, ExtractParams, crop_resize, extract_many, extract_video
from biorepro.store.entries import is_published
from biorepro.data.videoio import BadVideoError


def grey_levels(out_dir):
    return [int(cv2.imread(str(p))[0, 0, 0]) for p in sorted((out_dir / "frames").glob("*.png"))]


def test_evenly_spaced_frames_are_the_asked_ones(video_factory, tmp_path):
    video = video_factory("v.mov", 30)
    meta = extract_video(video, tmp_path / "e", ExtractParams(n_frames=5, size=16))
    assert meta["frame_indices"] == [3, 9, 15, 21, 27]
    levels = grey_levels(tmp_path / "e")
    assert all(abs(lv - 8 * k) <= 3 for lv, k in zip(levels, meta["frame_indices"])), levels
    assert meta["source_frames"] == 30 and meta["fps"] == 25.0
    assert cv2.imread(str(tmp_path / "e/frames/00000.png")).shape == (16, 16, 3)


def test_fps_mode(video_factory, tmp_path):
    meta = extract_video(video_factory("v.mov", 30), tmp_path / "e",
                         ExtractParams(n_frames=None, fps=5.0, size=8))
    assert meta["frame_indices"] == [0, 5, 10, 15, 20, 25]


def test_center_and_face_crop_fallback():
    frame = np.zeros((40, 80, 3), np.uint8)
    frame[:, 20:60] = 255  # the centred 40x40 square is white
    img, found = crop_resize(frame, ExtractParams(size=10))
    assert img.shape == (10, 10, 3) and img.min() == 255 and not found
    img, found = crop_resize(frame, ExtractParams(crop="face", size=10))
    assert not found and img.min() == 255  # no face: centre crop


def written(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make,reason", [
    (lambda d, f: written(d / "empty.mov", b""), "empty"),
    (lambda d, f: written(d / "text.mov", b"not a video"), "not a readable"),
    (lambda d, f: f("short.mov", 3), "fewer than extract.n_frames"),
    (lambda d, f: d / "missing.mov", "does not exist"),
])
def test_bad_videos_raise_naming_the_file(tmp_path, video_factory, make, reason):
    path = make(tmp_path, video_factory)
    with pytest.raises(BadVideoError, match=reason) as err:
        extract_video(path, tmp_path / "out", ExtractParams(n_frames=5))
    assert str(path) in str(err.value)


def test_truncated_video_is_bad(tmp_path, video_factory):
    video = video_factory("t.mov", 50, size=(160, 120))
    data = video.read_bytes()
    video.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadVideoError, match="t.mov"):
        extract_video(video, tmp_path / "out", ExtractParams(n_frames=10))


def ingr(**params):
    return {"params": {"n_frames": 4, "fps": None, "crop": "center", "size": 8,
                       "face_scale": 1.3, **params}}


def test_batch_publishes_each_entry_and_marks_bad_ones(tmp_path, video_factory):
    good = video_factory("good.mov", 12)
    bad = tmp_path / "bad.mov"
    bad.write_text("nope")
    jobs = [ExtractJob(good, tmp_path / "s" / "k1", ingr()),
            ExtractJob(bad, tmp_path / "s" / "k2", ingr())]
    lines = []
    extract_many(jobs, log=lines.append)
    assert is_published(tmp_path / "s/k1") and is_published(tmp_path / "s/k2")
    marker = json.loads((tmp_path / "s/k2/frames.json").read_text())
    assert marker["bad"] and "not a readable" in marker["reason"]
    assert len(lines) == 2 and "extract 1/2" in lines[0] and "BAD" in lines[1]
    assert not list((tmp_path / "s").glob(".tmp-*"))


@pytest.mark.parametrize("params", [
    {"size": 12}, {"n_frames": 3}, {"n_frames": None, "fps": 5.0}, {"crop": "face"},
    {"crop": "face", "face_scale": 2.0},
])
def test_a_batch_mixing_parameters_builds_each_entry_with_its_own(tmp_path, video_factory,
                                                                   params):
    """Every entry holds what its own ingredients say, whatever else is in its batch."""
    video = video_factory("v.mov", 30, size=(96, 64))
    jobs = [ExtractJob(video, tmp_path / "s" / "base", ingr()),
            ExtractJob(video, tmp_path / "s" / "variant", ingr(**params)),
            ExtractJob(video, tmp_path / "s" / "base2", ingr())]
    extract_many(jobs, log=lambda m: None)
    for job in jobs:
        alone = tmp_path / "alone" / job.out_dir.name
        extract_video(video, alone, job.params)
        got = sorted((job.out_dir / "frames").glob("*.png"))
        want = sorted((alone / "frames").glob("*.png"))
        assert [p.name for p in got] == [p.name for p in want]
        assert all(p.read_bytes() == q.read_bytes() for p, q in zip(got, want))
        assert cv2.imread(str(got[0])).shape[0] == job.params.size
        meta = json.loads((job.out_dir / "frames.json").read_text())
        assert meta["frame_indices"] == json.loads((alone / "frames.json").read_text())[
            "frame_indices"]


def test_params_validation():
    with pytest.raises(ValueError, match="exactly one"):
        ExtractParams(n_frames=3, fps=2.0)
    with pytest.raises(ValueError, match="extract.crop"):
        ExtractParams(crop="eyes")

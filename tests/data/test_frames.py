import subprocess

import cv2
import numpy as np
import pytest

from biorepro import config as cfg
from biorepro.data.frames import crop_resize, extract_video
from biorepro.data.videoio import BadVideoError
from tests.conftest import extract_params


def grey_levels(out_dir):
    return [int(cv2.imread(str(p))[0, 0, 0]) for p in sorted((out_dir / "frames").glob("*.png"))]


def test_evenly_spaced_frames_are_the_asked_ones(video_factory, tmp_path):
    video = video_factory("v.mov", 30)
    meta = extract_video(video, tmp_path / "e", extract_params(n_frames=5, size=16))
    assert meta["frame_indices"] == [3, 9, 15, 21, 27]
    levels = grey_levels(tmp_path / "e")
    assert all(abs(lv - 8 * k) <= 3 for lv, k in zip(levels, meta["frame_indices"])), levels
    assert meta["source_frames"] == 30 and meta["fps"] == 25.0
    assert cv2.imread(str(tmp_path / "e/frames/00000.png")).shape == (16, 16, 3)


def test_fps_mode(video_factory, tmp_path):
    meta = extract_video(video_factory("v.mov", 30), tmp_path / "e",
                         extract_params(n_frames=None, fps=5.0, size=8))
    assert meta["frame_indices"] == [0, 5, 10, 15, 20, 25]


def test_center_crop():
    frame = np.zeros((40, 80, 3), np.uint8)
    frame[:, 20:60] = 255  # the centred 40x40 square is white
    img = crop_resize(frame, extract_params(size=10))
    assert img.shape == (10, 10, 3) and img.min() == 255


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
        extract_video(path, tmp_path / "out", extract_params(n_frames=5))
    assert str(path) in str(err.value)


def test_truncated_video_is_bad(tmp_path, video_factory):
    video = video_factory("t.mov", 50, size=(160, 120))
    data = video.read_bytes()
    video.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadVideoError, match="t.mov"):
        extract_video(video, tmp_path / "out", extract_params(n_frames=10))


def test_partial_file_is_bad_although_its_chosen_frames_decode(tmp_path, video_factory):
    """A file cut short after its index (ffprobe: "partial file"): the frames that are left
    decode, but the video is not the one its container describes."""
    whole = tmp_path / "w.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=s=64x48:r=20:d=2",
                    "-c:v", "mjpeg", "-movflags", "+faststart", str(whole)], check=True)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 6 // 10])
    params = extract_params(n_frames=2)
    assert extract_video(whole, tmp_path / "whole", params)["source_frames"] == 40
    with pytest.raises(BadVideoError, match=r"cut.mp4: truncated \(its container lists 40 "
                       r"frames.*copy it again from its source") as err:
        extract_video(cut, tmp_path / "out", params)
    assert "re-encode" not in err.value.reason


def test_params_validation():
    """Extraction settings are validated once, by the configuration."""
    with pytest.raises(cfg.ConfigError, match="exactly one"):
        extract_params(n_frames=3, fps=2.0)
    with pytest.raises(cfg.ConfigError, match="extract.crop"):
        extract_params(crop="eyes")

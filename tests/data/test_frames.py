import dataclasses
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


def image(path, h=60, w=80, ext=".png"):
    """A still image whose left half is dark and right half bright; its path."""
    pixels = np.zeros((h, w, 3), np.uint8)
    pixels[:, w // 2:] = 200
    path = path.with_suffix(ext)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), pixels)
    return path


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_an_image_is_its_only_frame_whatever_n_frames_says(tmp_path, ext):
    meta = extract_video(image(tmp_path / "a", ext=ext), tmp_path / "e",
                         extract_params(n_frames=5, size=16))
    assert meta["frame_indices"] == [0] and meta["source_frames"] == 1
    assert (meta["width"], meta["height"], meta["rotation"], meta["fps"]) == (80, 60, 0, 0.0)
    assert [p.name for p in (tmp_path / "e" / "frames").iterdir()] == ["00000.png"]
    crop = cv2.imread(str(tmp_path / "e/frames/00000.png"))
    assert crop.shape == (16, 16, 3) and crop[:, 0].max() < 50 < 150 < crop[:, -1].min()


@pytest.mark.parametrize("ext, cut, reason", [
    (".jpg", 10, "truncated: the image ends before its end marker"),
    (".png", 10, "truncated: the image ends before its end marker"),
    (".bmp", 0, "cannot be decoded as an image")])
def test_a_broken_image_is_bad_naming_the_file(tmp_path, ext, cut, reason):
    path = image(tmp_path / "a", ext=ext)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - cut] if cut else b"not an image at all")
    with pytest.raises(BadVideoError, match=f"a{ext}: {reason}"):
        extract_video(path, tmp_path / "e", extract_params(size=16))


def test_celeba_spoof_boxes_are_scaled_from_224_pixels(tmp_path):
    path = image(tmp_path / "a", h=112, w=448)  # boxes given for 224 x 224: x2 and /2
    box = tmp_path / "a_BB.txt"
    box.write_text("112 56 112 112 0.98\n")  # -> x 224, y 28, 224 x 56 in the image
    params = dataclasses.replace(extract_params(crop="annotations", face_scale=1.0, size=8),
                                 annotation_format="celeba-spoof")
    extract_video(path, tmp_path / "e", params, box)
    crop = cv2.imread(str(tmp_path / "e/frames/00000.png"))
    assert crop.min() > 150  # the box lies in the bright right half
    box.write_text("112 56 112\n")
    with pytest.raises(ValueError, match="a_BB.txt, line 1: expected 'x y width height score'"):
        extract_video(path, tmp_path / "f", params, box)

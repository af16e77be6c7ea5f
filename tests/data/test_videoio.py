"""Frame-exact decoding, checked against ffmpeg's own decode on the kinds of video people have.

Every test video is made by the ffmpeg CLI from frames whose number is written as a binary
block code (robust to compression), and every frame read is compared with frame ``i`` of
``ffmpeg -i X -fps_mode passthrough -f rawvideo -pix_fmt bgr24 -`` (autorotate on).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from biorepro.data import videoio
from biorepro.data.frames import extract_video
from biorepro.data.videoio import BadVideoError, read_frames
from tests.conftest import extract_params

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                reason="the ffmpeg CLI is not installed (CI installs it); "
                                "these tests compare with its decode")

W, H, RATE = 96, 64, 30
BLOCK_H, BLOCK_W = H // 2, W // 4  # 8 bits: 2 rows of 4 blocks
H264 = ["-c:v", "libx264", "-bf", "3", "-g", "60", "-pix_fmt", "yuv420p"]
# Frames 0-39 at 30 fps, 40-79 at 15 fps, a 1 s stall, then 80-99 at 30 fps.
VFR_PTS = "(if(lt(N,40),N/30,if(lt(N,80),4/3+(N-40)/15,5+(N-80)/30)))/TB"


class Spec(NamedTuple):
    frames: int  # made
    options: list[str]  # ffmpeg output options
    rotation: int = 0  # degrees clockwise ffmpeg turns it
    remux: tuple[list[str], list[str]] | None = None  # then stream-copied: (input, output) options
    first: int = 0  # the first frame ffmpeg decodes


VIDEOS = {
    "mjpeg.avi": Spec(60, ["-c:v", "mjpeg", "-q:v", "3"]),
    "mjpeg.mov": Spec(60, ["-c:v", "mjpeg", "-q:v", "3"]),
    "h264.mp4": Spec(90, H264),
    "dir with spaces/clip one.MOV": Spec(90, H264),
    "h265.mp4": Spec(75, ["-c:v", "libx265", "-x265-params", "log-level=error:keyint=30",
                          "-pix_fmt", "yuv420p"]),
    "vfr.mp4": Spec(100, ["-vf", f"setpts='{VFR_PTS}'", "-fps_mode", "passthrough", *H264]),
    # rotate=90 metadata: ffmpeg turns it counterclockwise.
    "rotated.mp4": Spec(60, H264, 270, ([], ["-metadata:s:v:0", "rotate=90"])),
    # Trimmed without re-encoding (as phone editors do): an edit list starting mid-GOP, the
    # packets before it decoded and discarded.
    "trimmed.mp4": Spec(90, H264, remux=(["-ss", "1"], []), first=30),
    "audio.MP4": Spec(60, ["-map", "0:v", "-map", "1:a", *H264, "-c:a", "aac", "-shortest"]),
}


def coded_frame(k: int) -> np.ndarray:
    image = np.empty((H, W, 3), np.uint8)
    for bit in range(8):
        r, c = divmod(bit, 4)
        image[r * BLOCK_H:(r + 1) * BLOCK_H, c * BLOCK_W:(c + 1) * BLOCK_W] = \
            (230, 200, 170) if (k >> bit) & 1 else (20, 40, 60)
    return image


def code_of(image: np.ndarray, rotation: int) -> int:
    grey = np.rot90(image.mean(axis=2), rotation // 90)  # undo the clockwise turn
    assert grey.shape == (H, W)
    return sum(1 << bit for bit in range(8)
               if grey[(bit // 4) * BLOCK_H + 8:(bit // 4 + 1) * BLOCK_H - 8,
                       (bit % 4) * BLOCK_W + 6:(bit % 4 + 1) * BLOCK_W - 6].mean() > 120)


def ffmpeg(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["ffmpeg", "-v", "error", "-y", *args], input=data,
                          capture_output=True, check=True).stdout


def make_video(path: Path, n: int, options: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = ["-f", "lavfi", "-i", "sine=frequency=440:duration=3"] if "1:a" in options else []
    raw = b"".join(coded_frame(k).tobytes() for k in range(n))
    ffmpeg("-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{W}x{H}", "-r", str(RATE), "-i", "-",
           *audio, *options, str(path), data=raw)
    return path


def ffmpeg_frames(path: Path, rotation: int) -> np.ndarray:
    """Every frame as ffmpeg's CLI decodes it (presentation order, autorotate)."""
    shape = (W, H) if rotation in (90, 270) else (H, W)
    raw = ffmpeg("-i", str(path), "-fps_mode", "passthrough", "-f", "rawvideo",
                 "-pix_fmt", "bgr24", "-")
    return np.frombuffer(raw, np.uint8).reshape(-1, *shape, 3)


def ffprobe_times(path: Path) -> list[float]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "frame=pts_time", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return [float(line.strip(",")) for line in out.split()]


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, tuple[Path, np.ndarray]]:
    """name -> (video, ffmpeg's frames of it)."""
    root = tmp_path_factory.mktemp("videos")
    made = {}
    for name, spec in VIDEOS.items():
        path = make_video(root / name, spec.frames, spec.options)
        if spec.remux:
            plain = path.rename(path.with_name("plain" + path.suffix))
            ffmpeg(*spec.remux[0], "-i", str(plain), "-c", "copy", *spec.remux[1], str(path))
        reference = ffmpeg_frames(path, spec.rotation)
        assert [code_of(f, spec.rotation) for f in reference] == decoded_codes(name), name
        made[name] = (path, reference)
    return made


def decoded_codes(name: str) -> list[int]:
    """The block codes of the frames ffmpeg decodes from video ``name``."""
    return list(range(VIDEOS[name].first, VIDEOS[name].frames))


def assert_same_frames(video, reference: np.ndarray, rotation: int, codes: list[int]) -> None:
    """Each image is its frame (block code ``codes[index]``) and ffmpeg's decode of it
    (pixels), nearer to that reference frame than to its neighbours."""
    assert video.frames == len(reference) and video.rotation == rotation
    for index, image in zip(video.indices, video.images, strict=True):
        assert image.shape == reference[index].shape and image.dtype == np.uint8
        assert code_of(image, rotation) == codes[index]
        dist = {k: np.abs(image.astype(int) - reference[k]).mean()
                for k in (index - 1, index, index + 1) if 0 <= k < len(reference)}
        assert dist[index] <= 1.0, (index, dist)
        assert np.abs(image.astype(int) - reference[index]).max() <= 8
        assert all(dist[index] < d for k, d in dist.items() if k != index), (index, dist)


@pytest.mark.parametrize("name", VIDEOS)
@pytest.mark.parametrize("selection", ["all", "n_frames=7", "fps=4"])
def test_frames_are_the_ones_ffmpeg_decodes(videos, name, selection):
    path, reference = videos[name]
    params = {"all": None, "n_frames=7": extract_params(n_frames=7),
              "fps=4": extract_params(n_frames=None, fps=4.0)}[selection]
    video = read_frames(path, lambda t: range(len(t)) if params is None
                        else params.frame_indices(t))
    assert_same_frames(video, reference, VIDEOS[name].rotation, decoded_codes(name))
    assert video.truncated is None  # whole files, edit lists and dropped frames included


def test_intra_only_streams_decode_only_the_chosen_packets(videos, monkeypatch):
    def sequential(*args):
        raise AssertionError("decoded the whole stream")

    monkeypatch.setattr(videoio, "_decode_sequential", sequential)
    path, reference = videos["mjpeg.avi"]
    assert_same_frames(read_frames(path, extract_params(n_frames=7).frame_indices), reference, 0,
                       decoded_codes("mjpeg.avi"))


def test_chosen_packets_that_do_not_decode_alone_fall_back_to_decoding_all(videos,
                                                                           monkeypatch):
    monkeypatch.setattr(videoio, "_decode_packets", lambda path, indices: None)
    path, reference = videos["mjpeg.mov"]
    assert_same_frames(read_frames(path, extract_params(n_frames=7).frame_indices), reference, 0,
                       decoded_codes("mjpeg.mov"))


@pytest.mark.parametrize("name", ["vfr.mp4", "h265.mp4", "mjpeg.avi", "audio.MP4"])
def test_times_are_the_presentation_timestamps(videos, name):
    path, _ = videos[name]
    video = read_frames(path, lambda t: [0])
    assert [round(float(t), 6) for t in video.times] == ffprobe_times(path)


def test_fps_choice_follows_real_time_on_variable_frame_rate(videos):
    path, _ = videos["vfr.mp4"]
    times = read_frames(path, lambda t: [0]).times
    assert times[40] - times[39] == Fraction(1, 30) and times[41] - times[40] == Fraction(1, 15)
    assert times[80] - times[79] == Fraction(16, 15)  # the stall
    chosen = extract_params(n_frames=None, fps=10.0).frame_indices(times)
    # Every 0.1 s the first frame at or after it, each frame once.
    expected = []
    for k in range(int(times[-1] * 10) + 1):
        first = next(i for i, t in enumerate(times) if t >= Fraction(k, 10))
        if first not in expected:
            expected.append(first)
    assert chosen == expected
    assert chosen[:14] == list(range(0, 40, 3))
    stall = chosen.index(80)
    assert chosen[stall - 1:stall + 2] == [79, 80, 83]  # 4.0 s ... 5.0 s all gave frame 80
    assert extract_params(n_frames=10).frame_indices(times) == list(range(5, 100, 10))


def test_extract_writes_rotated_frames_and_their_times(videos, tmp_path):
    path, reference = videos["rotated.mp4"]
    meta = extract_video(path, tmp_path / "e", extract_params(n_frames=4, size=16))
    assert meta["frame_indices"] == [7, 22, 37, 52] and meta["source_frames"] == 60
    assert (meta["width"], meta["height"], meta["rotation"]) == (H, W, 270)
    assert meta["frame_times"] == [round(i / RATE, 6) for i in meta["frame_indices"]]
    assert meta["fps"] == RATE
    assert json.loads((tmp_path / "e/frames.json").read_text()) == meta


def truncated(path: Path, out: Path, kept: float) -> tuple[Path, int]:
    """``path`` with its index first (faststart), cut inside its middle packet (decoding
    order) after a ``kept`` fraction of it, and how many packets are whole."""
    ffmpeg("-i", str(path), "-c", "copy", "-movflags", "+faststart", str(out))
    packets = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "packet=pos,size", "-of", "json", str(out)],
        capture_output=True, text=True, check=True).stdout)["packets"]
    whole = len(packets) // 2
    cut = int(packets[whole]["pos"]) + int(int(packets[whole]["size"]) * kept)
    out.write_bytes(out.read_bytes()[:cut])
    return out, whole


def test_truncated_h264_counts_the_frames_that_decode(videos, tmp_path):
    path, _ = truncated(videos["h264.mp4"][0], tmp_path / "cut.mp4", 0.5)
    reference = ffmpeg_frames(path, 0)
    assert 10 < len(reference) < 90
    video = read_frames(path, lambda t: range(len(t)))
    assert_same_frames(video, reference, 0, [code_of(frame, 0) for frame in reference])
    assert f"its container lists {VIDEOS['h264.mp4'].frames} frames" in video.truncated


@pytest.mark.parametrize("kept", [0.05, 0.9])
def test_truncated_mjpeg_counts_a_partial_frame_as_ffmpeg_and_refuses_it(videos, tmp_path,
                                                                         kept):
    path, whole = truncated(videos["mjpeg.mov"][0], tmp_path / "cut.mov", kept)
    reference = ffmpeg_frames(path, 0)
    assert len(reference) == whole + (kept > 0.5)  # a header alone does not decode
    video = read_frames(path, lambda t: range(whole))
    assert_same_frames(video, reference, 0, list(range(len(reference))))
    assert "cut short" in video.truncated
    if len(reference) > whole:
        with pytest.raises(BadVideoError, match=f"frame {whole} .*truncated or corrupt"):
            read_frames(path, lambda t: [whole])


def test_audio_only_file_is_bad(tmp_path):
    path = tmp_path / "sound.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(path))
    with pytest.raises(BadVideoError, match="no video stream") as err:
        extract_video(path, tmp_path / "out", extract_params(n_frames=2))
    assert str(path) in str(err.value)


def test_too_few_frames_is_bad_naming_the_count(videos, tmp_path):
    path, _ = videos["vfr.mp4"]
    with pytest.raises(BadVideoError, match="has 100 frames, fewer than extract.n_frames=101"):
        extract_video(path, tmp_path / "out", extract_params(n_frames=101))

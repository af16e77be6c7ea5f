"""Reading exact video frames with PyAV (FFmpeg's libraries), failing loudly and by name.

Conventions:

- Frame ``i`` is the ``i``-th frame FFmpeg decodes, in presentation order: what
  ``ffmpeg -i X -fps_mode passthrough`` outputs (the ``n`` of ffmpeg's ``select`` filter).
  A frame count is always that exact number, never an estimate from the container.
- The time of a frame is its presentation timestamp in seconds (``pts * time_base``, ffprobe's
  ``pts_time``), an exact ``Fraction``.
- Images are BGR ``uint8`` (``-pix_fmt bgr24``), turned by the stream's display matrix as
  ffmpeg's CLI does by default (autorotate: transposes and flips); ``width``/``height`` are
  after turning.
- The video stream is FFmpeg's best one (``av_find_best_stream``, as ffmpeg's CLI picks).

How: one demuxing pass lists the frames (the packets that are neither empty nor discarded,
with their timestamps and key-frame flags); the caller chooses frame numbers from that list;
then they are decoded:

- an intra-only codec whose packets are all key frames (MJPEG): only the chosen packets are
  decoded (frame ``i`` is the ``i``-th listed packet; a packet the demuxer flags as truncated
  is listed only if it decodes, other undecodable packets are noticed only when chosen);
- otherwise (H.264/H.265 with B-frames and long GOPs, variable frame rate, ...): the stream is
  decoded from the start, converting only the chosen frames, and the decoded timestamps must
  be the listed ones in presentation order. When they are not (packets that do not decode,
  as in a truncated file, or frames the decoder drops), the decoded frames are the truth: the
  frames are chosen again from them and decoded again. A chosen intra-only packet that does
  not decode to its own frame falls back to this path too.

Packets that cannot be decoded are skipped and a demuxing error ends the stream, as ffmpeg's
CLI does, so the frame count is the number of frames that actually decode. Whether the stream
ends before its container says (a packet cut short, fewer packets than the container lists, a
demuxing error: a partial file) is reported in ``Frames.truncated``; refusing such a video is
the caller's choice.

``BadVideoError`` carries the file and the reason: a missing, empty or unreadable file, no
video stream, no decodable frame, frames without timestamps, an unsupported display rotation,
or a chosen frame lying in truncated or corrupt data.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.sidedata.sidedata import Type as SideDataType

FIX = "re-encode it (ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p OUT.mp4) or remove it"


class BadVideoError(Exception):
    """A video that cannot be used; the message is ``"<path>: <reason>"`` (both kept)."""

    def __init__(self, path: str | os.PathLike, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class Frames:
    """Frames read from one video: ``images[k]`` is frame ``indices[k]`` (ascending).

    ``times[i]`` is the time of frame ``i`` (seconds) for every frame of the video;
    ``rotation`` is how many degrees clockwise the images were turned (0, 90, 180, 270);
    ``truncated`` says how the stream ends before its container says (None: it does not).
    """

    indices: list[int]
    images: list[np.ndarray]
    times: list[Fraction]
    rotation: int
    truncated: str | None = None

    @property
    def frames(self) -> int:
        """Exact number of frames of the video (all of them, not only the ones read)."""
        return len(self.times)

    @property
    def fps(self) -> float:
        """Mean frame rate, ``(N - 1) / (last time - first time)``; 0.0 for a still."""
        span = max(self.times) - self.times[0]
        return float((len(self.times) - 1) / span) if span > 0 else 0.0

    @property
    def height(self) -> int:
        """Image height in pixels, after rotation."""
        return self.images[0].shape[0]

    @property
    def width(self) -> int:
        """Image width in pixels, after rotation."""
        return self.images[0].shape[1]


Choose = Callable[[list[Fraction]], Sequence[int]]


def read_frames(path: str | os.PathLike, choose: Choose) -> Frames:
    """The frames ``choose(times)`` picks, ``times`` being every frame's time (seconds).

    ``choose`` returns at least one frame number below ``len(times)``; it may raise
    ``BadVideoError`` (e.g. too few frames). It is called again when the decoded frames
    are not the listed ones (module docstring).
    """
    listed = _list_frames(path)
    if listed.intra_only:
        indices = _choose(choose, _seconds(path, listed.pts, listed.time_base))
        _check_intact(path, indices, listed.pts, listed.corrupt)
        frames = _decode_packets(path, indices)
        if frames is not None:
            return _frames(path, indices, frames, listed.pts, listed)
    expected = sorted(listed.pts) if None not in listed.pts else None
    indices = [] if expected is None else \
        _choose(choose, _seconds(path, expected, listed.time_base))
    decoded, frames = _decode_sequential(path, indices)
    if decoded != expected:
        indices = _choose(choose, _seconds(path, decoded, listed.time_base))
        again, frames = _decode_sequential(path, indices)
        if again != decoded:
            raise BadVideoError(path, f"decodes to different frames on each pass; {FIX}")
    _check_intact(path, indices, decoded, listed.corrupt)
    return _frames(path, indices, frames, decoded, listed)


@dataclass(frozen=True)
class _Listing:
    pts: list[int | None]  # of each listed packet, in demuxing order
    corrupt: set[int | None]  # pts of packets flagged corrupt (truncated)
    intra_only: bool
    time_base: Fraction
    truncated: str | None  # how the stream ends before its container says; None if whole


@contextmanager
def _opened(path: str | os.PathLike) -> Iterator[tuple[av.container.InputContainer,
                                                         av.video.stream.VideoStream]]:
    if not os.path.isfile(path):
        raise BadVideoError(path, "file does not exist")
    if os.path.getsize(path) == 0:
        raise BadVideoError(path, "file is empty (0 bytes)")
    try:
        container = av.open(os.fspath(path))
    except av.error.FFmpegError as err:
        raise BadVideoError(path, f"not a readable video (FFmpeg: {err.strerror}): damaged, "
                            "cut short or not a video; copy it again from its source, or "
                            "remove it") from None
    with container:
        stream = container.streams.best("video")
        if stream is None:
            raise BadVideoError(path, "has no video stream; remove it")
        yield container, stream


def _packets(container, stream, ended: list[str] | None = None) -> Iterator[av.Packet]:
    """The stream's non-empty packets; a demuxing error ends them (as in ffmpeg's CLI) and
    is appended to ``ended``."""
    try:
        for packet in container.demux(stream):
            if packet.size:
                yield packet
    except av.error.FFmpegError as err:
        if ended is not None:
            ended.append(err.strerror or type(err).__name__)


def _list_frames(path) -> _Listing:
    """The listed packets; an intra-only one flagged corrupt (truncated) only if it decodes."""
    ended: list[str] = []
    with _opened(path) as (container, stream):
        intra = stream.codec_context.codec.intra_only
        packets = list(_packets(container, stream, ended))
        listed = [(p.pts, p.is_keyframe, p.is_corrupt) for p in packets
                  if not p.is_discard and not (intra and p.is_corrupt and not _decodes(stream, p))]
        time_base = Fraction(stream.time_base or 1)
        # exact in ISO BMFF (its sample table); AVI's header counts the frames it drops
        declared = stream.frames if "mp4" in container.format.name else 0
    if not listed:
        raise BadVideoError(path, f"has no video frames; {FIX}")
    cut = sum(p.is_corrupt for p in packets)
    truncated = "; ".join(
        [f"its container lists {declared} frames, its stream holds {len(packets)}"]
        * (len(packets) < declared)
        + [f"{cut} packet{'s' * (cut > 1)} cut short"] * (cut > 0)
        + [f"demuxing stopped: {why}" for why in ended]) or None
    return _Listing([p for p, _, _ in listed], {p for p, _, bad in listed if bad},
                    intra and all(key for _, key, _ in listed), time_base, truncated)


def _decodes(stream, packet: av.Packet) -> bool:
    try:
        return bool(stream.codec_context.decode(packet))
    except av.error.FFmpegError:
        return False


def _seconds(path, pts: list[int | None], time_base: Fraction) -> list[Fraction]:
    if not pts:
        raise BadVideoError(path, f"has no decodable video frame; {FIX}")
    if None in pts:
        raise BadVideoError(path, "its frames have no timestamps (a raw stream?); put it in "
                            "a container (ffmpeg -i IN -c copy OUT.mp4) or remove it")
    return [p * time_base for p in pts]


def _choose(choose: Choose, times: list[Fraction]) -> list[int]:
    indices = sorted(set(choose(times)))
    if not indices or indices[0] < 0 or indices[-1] >= len(times):
        raise ValueError(f"frame choice {indices} is not within the {len(times)} frames")
    return indices


def _check_intact(path, indices: list[int], pts: list[int | None], corrupt: set) -> None:
    for i in indices:
        if pts[i] in corrupt:
            raise BadVideoError(path, f"frame {i} (of {len(pts)}) lies in truncated or "
                                f"corrupt data; {FIX}")


def _decode_packets(path, indices: list[int]) -> dict[int, av.VideoFrame] | None:
    """Frame ``i`` decoded from listed packet ``i`` alone; None if one does not decode to
    exactly one frame with that packet's timestamp."""
    frames: dict[int, av.VideoFrame] = {}
    wanted = set(indices)
    with _opened(path) as (container, stream):
        listed = (p for p in _packets(container, stream) if not p.is_discard)
        for i, packet in enumerate(listed):
            if i not in wanted:
                continue
            try:
                out = stream.codec_context.decode(packet)
            except av.error.FFmpegError:
                return None
            if [f.pts for f in out] != [packet.pts]:
                return None
            frames[i] = out[0]
            if len(frames) == len(wanted):
                return frames
    return None


def _decode_sequential(path, indices: list[int]) -> tuple[list[int | None],
                                                           dict[int, av.VideoFrame]]:
    """(timestamps of every decoded frame in output order, the frames at ``indices``)."""
    wanted = set(indices)
    decoded: list[int | None] = []
    frames: dict[int, av.VideoFrame] = {}
    with _opened(path) as (container, stream):
        decoder = stream.codec_context
        for packet in itertools.chain(_packets(container, stream), [None]):
            try:
                out = decoder.decode(packet)
            except av.error.FFmpegError:
                continue  # ffmpeg's CLI skips undecodable packets too
            for frame in out:
                if len(decoded) in wanted:
                    frames[len(decoded)] = frame
                decoded.append(frame.pts)
    return decoded, frames


def _frames(path, indices: list[int], frames: dict[int, av.VideoFrame],
            pts: list[int | None], listed: _Listing) -> Frames:
    rotation, turn = _orientation(path, frames[indices[0]])
    images = [np.ascontiguousarray(turn(frames[i].to_ndarray(format="bgr24")))
              for i in indices]
    return Frames(indices, images, _seconds(path, pts, listed.time_base), rotation,
                  listed.truncated)


def _orientation(path, frame: av.VideoFrame) -> tuple[int, Callable[[np.ndarray], np.ndarray]]:
    """(degrees clockwise, how to turn an image) from the frame's display matrix, as
    ffmpeg's CLI autorotate does (transpose, hflip, vflip; other angles are refused)."""
    side = frame.side_data.get(SideDataType.DISPLAYMATRIX)
    if side is None:
        return 0, lambda image: image
    m = np.frombuffer(bytes(side), "=i4")
    theta = _clockwise(m)
    if abs(theta - 90) < 1:
        return 90, (lambda im: im.swapaxes(0, 1)) if m[3] > 0 else (lambda im: np.rot90(im, -1))
    if abs(theta - 270) < 1:
        return 270, ((lambda im: im.swapaxes(0, 1)[::-1, ::-1]) if m[3] < 0
                     else (lambda im: np.rot90(im, 1)))
    if abs(theta - 180) < 1:
        return 180, lambda im: im[:: -1 if m[4] < 0 else 1, :: -1 if m[0] < 0 else 1]
    if abs(theta) > 1:
        raise BadVideoError(path, f"has a display rotation of {theta:g} degrees (not a "
                            f"multiple of 90); {FIX} (ffmpeg applies the rotation)")
    if abs(theta) < 1 and m[4] < 0:
        return 0, lambda im: im[::-1]
    return 0, lambda image: image


def _clockwise(m: np.ndarray) -> float:
    """ffmpeg's ``get_rotation``: clockwise degrees in [0, 360), NaN for a degenerate matrix."""
    a, b, d, e = (float(m[k]) / (1 << 16) for k in (0, 1, 3, 4))
    sx, sy = math.hypot(a, d), math.hypot(b, e)
    if sx == 0 or sy == 0:
        return math.nan
    theta = float(round(math.degrees(math.atan2(b / sy, a / sx))))
    return theta - 360 * math.floor(theta / 360 + 0.9 / 360)

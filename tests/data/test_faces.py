"""Face crops: annotation files, detectors, and failures to acquire (FTA)."""

import subprocess
import sys
from pathlib import Path

import cv2
import matplotlib.cbook
import numpy as np
import pytest

from biorepro.data import faces
from biorepro.data.frames import extract_video, square_box
from biorepro.data.videoio import read_frames
from tests.conftest import extract_params

W, H = 96, 64
BOX = (40, 16, 32, 32)  # x, y, width, height of the drawn face


def face_video(path: Path, n_frames: int = 12) -> Path:
    """An MJPEG video: a dark gradient with a bright square "face" (with dark eyes) at BOX."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"jpeg"), 25.0, (W, H))
    x, y, w, h = BOX
    for _ in range(n_frames):
        frame = np.tile(np.linspace(0, 60, W, dtype=np.uint8), (H, 1))[..., None].repeat(3, 2)
        frame[y:y + h, x:x + w] = 220
        frame[y + 8:y + 12, x + 6:x + 12] = 20
        frame[y + 8:y + 12, x + 20:x + 26] = 20
        writer.write(np.ascontiguousarray(frame))
    writer.release()
    return path


def decoded(video: Path, indices: list[int]) -> dict[int, np.ndarray]:
    frames = read_frames(video, lambda times: indices)
    return dict(zip(frames.indices, frames.images))


def region(frame: np.ndarray, top: int, left: int, side: int, size: int) -> np.ndarray:
    return cv2.resize(frame[top:top + side, left:left + side], (size, size),
                      interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR)


def pngs(out: Path) -> dict[int, np.ndarray]:
    return {int(p.stem): cv2.imread(str(p)) for p in sorted((out / "frames").glob("*.png"))}


def write_face_file(path: Path, boxes: dict[int, tuple]) -> Path:
    path.write_text("".join(f"{k} {' '.join(map(str, b))}\n" for k, b in boxes.items()))
    return path


# n_frames=4 of 12 frames: frames 1, 4, 7, 10
PARAMS = extract_params(n_frames=4, crop="annotations", size=16, face_scale=1.0)


def test_replay_face_file_crops_the_box_and_a_zero_box_is_fta(tmp_path):
    video = face_video(tmp_path / "v.mov")
    boxes = {k: BOX for k in range(12)}
    boxes[4] = (0, 0, 0, 0)  # Replay-Attack's "no face here"
    ann = write_face_file(tmp_path / "v.face", boxes)
    meta = extract_video(video, tmp_path / "e", PARAMS, ann)
    assert meta["frame_indices"] == [1, 4, 7, 10]
    assert meta["fta_frames"] == [4] and meta["faces_missed"] == 1
    got = pngs(tmp_path / "e")
    assert sorted(got) == [0, 2, 3]  # image k is chosen frame k; the FTA frame has none
    source = decoded(video, [1, 7, 10])
    x, y, w, _ = BOX
    for k, number in ((0, 1), (2, 7), (3, 10)):
        assert np.array_equal(got[k], region(source[number], y, x, w, 16))
    assert got[0].mean() > 150  # the bright face fills the crop


def test_csv_boxes_a_frame_it_does_not_list_is_fta_or_centre_cropped(tmp_path):
    video = face_video(tmp_path / "v.mov")
    ann = tmp_path / "v.csv"
    ann.write_text("frame,x,y,width,height\n"
                   + "".join(f"{k},{','.join(map(str, BOX))}\n" for k in range(12) if k != 7))
    meta = extract_video(video, tmp_path / "e", PARAMS, ann)
    assert meta["fta_frames"] == [7] and sorted(pngs(tmp_path / "e")) == [0, 1, 3]
    centred = extract_params(n_frames=4, crop="annotations", size=16, face_scale=1.0,
                            no_face="center")
    meta = extract_video(video, tmp_path / "c", centred, ann)
    assert meta["fta_frames"] == [] and meta["faces_missed"] == 1
    got = pngs(tmp_path / "c")
    assert np.array_equal(got[2], region(decoded(video, [7])[7], 0, (W - H) // 2, H, 16))


def test_crop_annotations_without_a_file_names_the_video(tmp_path):
    video = face_video(tmp_path / "v.mov")
    with pytest.raises(ValueError, match=r"v\.mov.*extract\.crop"):
        extract_video(video, tmp_path / "e", PARAMS)


@pytest.mark.parametrize("name,text,error", [
    ("a.csv", "frame,x,y,w,h\n0,1,2,3,4\n", "the header must be frame,x,y,width,height"),
    ("a.face", "0 1 2 3 4\n0 1 2 3 4\n", "line 2: frame 0 is listed twice"),
    ("a.face", "0 1 2\n", "line 1: expected 'frame x y width height'"),
    ("a.face", "1 2 3 4\n1 2 3\n", "line 2: expected 'x y width height'"),
    ("a.csv", "frame,x,y,width,height\n3,a,2,3,4\n", "line 2: expected"),
])
def test_unreadable_annotations_name_the_file_and_line(tmp_path, name, text, error):
    (tmp_path / name).write_text(text)
    with pytest.raises(faces.AnnotationError, match=error) as err:
        faces.read_annotations(tmp_path / name)
    assert str(tmp_path / name) in str(err.value)


def test_annotation_formats_and_what_counts_as_a_face(tmp_path):
    (tmp_path / "a.face").write_text("0 10 20 30 40\n\n1 0 0 0 0\n")
    (tmp_path / "a.csv").write_text("frame,x,y,width,height\n0,10.4,19.6,30,40\n1,0,0,0,0\n")
    assert faces.read_annotations(tmp_path / "a.face") == {0: (10, 20, 30, 40), 1: (0, 0, 0, 0)}
    assert faces.read_annotations(tmp_path / "a.csv") == faces.read_annotations(
        tmp_path / "a.face")
    (tmp_path / "m.face").write_text("10 20 30 40\n0 0 0 0\n")  # Replay-Mobile's
    assert faces.read_annotations(tmp_path / "m.face") == faces.read_annotations(
        tmp_path / "a.face")
    assert faces.is_face((10, 20, 30, 40), 64, 96)
    assert not faces.is_face((0, 0, 0, 0), 64, 96)
    assert not faces.is_face((100, 0, 10, 10), 64, 96)  # outside the frame
    assert not faces.is_face(None, 64, 96)


def test_square_box_is_scaled_centred_and_clamped():
    assert square_box((40, 16, 32, 32), 64, 96, 1.0) == (16, 40, 32)
    assert square_box((40, 16, 32, 20), 64, 96, 1.5) == (2, 32, 48)
    assert square_box((80, 50, 20, 20), 64, 96, 2.0) == (24, 56, 40)  # shifted into the image


def test_haar_cascade_finds_the_face_of_a_photograph():
    photo = cv2.imread(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    x, y, w, h = faces.haar_face(photo)
    assert x < 256 < x + w and y < 220 < y + h  # around the face's centre
    assert faces.haar_face(np.zeros((64, 96, 3), np.uint8)) is None


def test_mtcnn_finds_the_face_of_a_photograph_and_none_in_a_drawing(tmp_path):
    """The photograph: matplotlib's sample portrait of Grace Hopper (a real face, shipped in
    the installed matplotlib). The drawn face of the synthetic video is no face to MTCNN:
    every chosen frame is then a failure to acquire."""
    photo = cv2.imread(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    box = faces.mtcnn_face(photo, 0.9)
    haar = faces.haar_face(photo)
    overlap = [max(0, min(a + da, b + db) - max(a, b))
               for a, da, b, db in ((box[0], box[2], haar[0], haar[2]),
                                    (box[1], box[3], haar[1], haar[3]))]
    assert overlap[0] * overlap[1] > 0.5 * box[2] * box[3]  # both detectors agree
    assert faces.mtcnn_face(photo, 0.9) == box  # same input, same box
    assert faces.mtcnn_face(photo, 1.01) is None  # nothing passes an impossible confidence
    meta = extract_video(face_video(tmp_path / "v.mov"), tmp_path / "e",
                         extract_params(n_frames=2, crop="mtcnn", size=16))
    assert meta["fta_frames"] == meta["frame_indices"] == [3, 9]
    assert pngs(tmp_path / "e") == {}


def test_detector_identity_is_resolved_without_importing_tensorflow():
    """Planning names MTCNN's version and weights without TensorFlow, and the frames job
    loads it only for ``crop: mtcnn``."""
    code = ("import sys\n"
            "from biorepro import plan\n"
            "import biorepro.jobs.frames\n"
            "from biorepro.data.faces import detector_identity\n"
            "from biorepro.store.hashing import file_digest\n"
            "d = detector_identity('mtcnn', file_digest)\n"
            "assert d['name'] == 'mtcnn' and d['version'] == '1.0.0', d\n"
            "assert sorted(d['weights']) == ['onet.lz4', 'pnet.lz4', 'rnet.lz4'], d\n"
            "assert all(len(v) == 64 for v in d['weights'].values()), d\n"
            "assert 'tensorflow' not in sys.modules and 'mtcnn' not in sys.modules\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    face = faces.detector_identity("face", lambda p: f"sha of {Path(p).name}")
    assert face == {"name": "opencv-haar", "version": cv2.__version__,
                    "weights": {faces.HAAR_FILE: f"sha of {faces.HAAR_FILE}"}}
    assert faces.detector_identity("center", lambda p: "") is None
    assert faces.detector_identity("annotations", lambda p: "") is None

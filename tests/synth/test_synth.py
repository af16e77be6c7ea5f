import re

import cv2
import numpy as np
import pytest

from biorepro.data.protocols import card_records
from biorepro.synth.generate import generate_dataset

CLIENTS = {"train": 1, "devel": 1, "test": 1}


def test_layout_naming_and_video_properties(tmp_path):
    paths = generate_dataset(tmp_path, clients=CLIENTS, duration_s=0.4, real_per_client=2)
    assert len(paths) == 3 * (2 + 6)
    for p in paths:
        rel = p.relative_to(tmp_path).as_posix()
        assert re.match(r"^(train|devel|test)/(real|attack/(fixed|hand))/", rel), rel
        cap = cv2.VideoCapture(str(p))
        assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (320, 240)
        assert cap.get(cv2.CAP_PROP_FPS) == 25 and cap.get(cv2.CAP_PROP_FRAME_COUNT) == 10
    clients = {re.search(r"client\d+", p.name).group(0) for p in paths}
    assert len(clients) == 3
    records = card_records("replay-attack", tmp_path, "grandtest")  # its names, its card
    assert sorted(r.path for r in records) == sorted(map(str, paths))


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = generate_dataset(tmp_path / "a", clients=CLIENTS, duration_s=0.2, seed=1)
    b = generate_dataset(tmp_path / "b", clients=CLIENTS, duration_s=0.2, seed=1)
    c = generate_dataset(tmp_path / "c", clients=CLIENTS, duration_s=0.2, seed=2)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert a[0].read_bytes() != c[0].read_bytes()


@pytest.mark.parametrize("kwargs,name", [({"difficulty": 1.5}, "difficulty"),
                                         ({"clients": {"train": 1}}, "clients"),
                                         ({"duration_s": 0}, "duration_s"),
                                         ({"attacks": [("paper", "fixed", "photo")]}, "attacks")])
def test_bad_arguments_name_the_argument(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=name):
        generate_dataset(tmp_path, **{"clients": CLIENTS, **kwargs})


def _features(frame):
    """Cue-agnostic image statistics: colour, contrast, sharpness, edges near the border."""
    f = frame.astype(np.float32)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    lap = cv2.Laplacian(gray, cv2.CV_32F)
    grad = np.abs(np.diff(gray, axis=1))
    border = [grad[:, :40].mean(), grad[:, -40:].mean(), grad[:20].mean(), grad[-20:].mean()]
    return np.array([*f.mean((0, 1)), *f.std((0, 1)), lap.var() ** 0.5, *border])


def _proxy_error(root, difficulty, seed):
    """Test HTER of a logistic regression on image statistics (train on train clients)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clients = {"train": 4, "devel": 1, "test": 3}
    data = {"train": ([], []), "test": ([], [])}
    for p in generate_dataset(root, clients=clients, duration_s=0.4, difficulty=difficulty,
                              seed=seed, real_per_client=3):
        split = p.relative_to(root).parts[0]
        if split == "devel":
            continue
        cap = cv2.VideoCapture(str(p))
        for _ in range(0, 10, 3):
            ok, frame = cap.read()
            data[split][0].append(_features(frame))
            data[split][1].append("/real/" in p.as_posix())
    clf = make_pipeline(StandardScaler(), LogisticRegression(
        max_iter=2000, class_weight="balanced")).fit(*data["train"])
    x, y = data["test"]
    pred = clf.predict(x)
    y = np.array(y)
    return 0.5 * ((pred[~y] == 1).mean() + (pred[y] == 0).mean())  # HTER-like


@pytest.mark.slow  # about a minute: generates two datasets at each of three difficulties
def test_difficulty_makes_the_task_harder_but_not_trivial(tmp_path):
    err = {d: np.mean([_proxy_error(tmp_path / f"{d}-{s}", d, s) for s in (0, 1)])
           for d in (0.0, 0.5, 1.0)}
    assert err[0.0] < err[1.0], err
    assert 0.02 < err[0.5] < 0.45, err


def test_dataset_folder_follows_generator_code_and_parameters(tmp_path, monkeypatch):
    """Videos made by other generator code are never reused for the same parameters."""
    from types import SimpleNamespace

    from biorepro.synth import dataset

    params = {"seed": 0, "difficulty": 0.5}
    here = dataset.dataset_path(tmp_path, params)
    assert dataset.dataset_path(tmp_path, {**params, "seed": 1}) != here
    monkeypatch.setattr(dataset, "code_fingerprint", lambda *_: SimpleNamespace(digest="x"))
    assert dataset.dataset_path(tmp_path, params) != here


def test_synth_generates_every_synthetic_dataset_of_the_configuration(tmp_path, monkeypatch):
    """The top-level dataset, a multi dataset's sources and cross targets (their sources
    too); one generation per distinct dataset."""
    import yaml

    from biorepro import cli
    from biorepro.synth import dataset

    made = []
    monkeypatch.setattr(dataset, "ensure_dataset",
                        lambda root, params, log=None: made.append((root, params["seed"])))
    monkeypatch.chdir(tmp_path)

    def synthetic(root, seed):
        return {"kind": "synthetic", "root": root, "synthetic": {"seed": seed}}

    conf = {"dataset": {"kind": "multi", "sources": [
        {"domain": "A", "dataset": synthetic("a", 1)},
        {"domain": "B", "dataset": synthetic("b", 2)}]},
        "evaluate": {"cross": [
            {"name": "far", "dataset": synthetic("c", 3)},
            {"name": "both", "dataset": {"kind": "multi", "sources": [
                {"domain": "A", "dataset": synthetic("a", 1)},
                {"domain": "D", "dataset": synthetic("d", 4)}]}}]}}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(conf))
    assert cli.main(["synth"]) == 0
    assert made == [("a", 1), ("b", 2), ("c", 3), ("d", 4)]

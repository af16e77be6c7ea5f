"""Protocol cards: stand-in trees with each database's real naming."""

import pytest

from biorepro.data import protocols
from biorepro.data.ingest import DatasetError
from tests.data.test_ingest import touch


def records(name, root, protocol=None, fold=protocols.SINGLE_FOLD, **kw):
    return protocols.card_records(name, root, protocol, fold, **kw)


@pytest.fixture
def replay_tree(tmp_path):
    root = tmp_path / "replay"
    for split, client in (("train", 1), ("devel", 2), ("test", 3)):
        touch(root / split / "real" /
              f"client{client:03d}_session01_webcam_authenticate_adverse_1.mov")
        for support, inst, dev, med in (("fixed", "print", "highdef", "photo"),
                                        ("hand", "mobile", "mobile", "video"),
                                        ("fixed", "highdef", "highdef", "photo")):
            touch(root / split / "attack" / support /
                  f"attack_{inst}_client{client:03d}_session01_{dev}_{med}_controlled.mov")
    touch(root / "enroll" / "client001_session01_enroll_adverse.mov")  # not for PAD
    return root


def test_every_card_loads_and_names_its_sources():
    assert set(protocols.card_names()) >= {"replay-attack"}
    for name in protocols.card_names():
        card = protocols.load_card(name)
        assert card["name"] == name and card["sources"] and card["threshold"]
        assert card["default_protocol"] in card["protocols"]


def test_replay_attack_grandtest(replay_tree):
    recs = records("replay-attack", replay_tree)
    assert len(recs) == 12  # enroll/ ignored
    real = [r for r in recs if r.label == "bonafide"]
    assert {r.subject for r in real} == {"client001", "client002", "client003"}
    attack = next(r for r in recs if r.attack_type == "mobile")
    assert attack.split in ("train", "devel", "test") and attack.subject.startswith("client")
    assert attack.video_id.count("--") == 3  # split--attack--hand--name


@pytest.mark.parametrize("protocol,n_attacks", [("print", 3), ("photo", 6), ("video", 3),
                                                ("hand", 3), ("highdef", 3), ("mobile", 3),
                                                ("fixed", 6), ("grandtest", 9)])
def test_replay_attack_protocols(replay_tree, protocol, n_attacks):
    recs = records("replay-attack", replay_tree, protocol)
    assert sum(r.label == "attack" for r in recs) == n_attacks
    assert sum(r.label == "bonafide" for r in recs) == 3


def test_replay_attack_face_locations_are_found_when_shipped(replay_tree):
    face = touch(replay_tree / "face-locations" / "train" / "real" /
                 "client001_session01_webcam_authenticate_adverse_1.face", b"0 1 2 3 4\n")
    by_id = {r.video_id: r for r in records("replay-attack", replay_tree)}
    assert by_id["train--real--client001_session01_webcam_authenticate_adverse_1"].annotations \
        == str(face)
    assert by_id["devel--real--client002_session01_webcam_authenticate_adverse_1"].annotations == ""


def test_replay_attack_bad_layouts(tmp_path, replay_tree):
    with pytest.raises(DatasetError, match="does not exist"):
        records("replay-attack", tmp_path / "nope")
    with pytest.raises(DatasetError, match="dataset.protocol.*no protocol 'nope'.*grandtest"):
        records("replay-attack", replay_tree, "nope")
    with pytest.raises(DatasetError, match="dataset.folds.*no fold '2'"):
        records("replay-attack", replay_tree, fold="2")
    touch(replay_tree / "train" / "real" / "holiday.mov")
    with pytest.raises(DatasetError, match="holiday.mov: its name does not follow the Idiap "
                                           "Replay-Attack layout"):
        records("replay-attack", replay_tree)

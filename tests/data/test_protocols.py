"""Protocol cards: stand-in trees with each database's real naming."""

import json

import pytest

from biorepro.data import protocols
from biorepro.data.ingest import DatasetError
from tests.data.test_ingest import touch


def records(name, root, protocol=None, fold=protocols.SINGLE_FOLD, **kw):
    return protocols.card_records(name, root, protocol, fold, **kw)


REPLAY_ATTACKS = (("fixed", "print", "highdef", "photo"), ("hand", "mobile", "mobile", "video"),
                  ("fixed", "highdef", "highdef", "photo"))


def replay_files(root, attacks=REPLAY_ATTACKS, write=touch):
    """A stand-in Replay-Attack tree: clients 1, 2, 3 in train, devel, test, each with one
    bona fide video and one video per attack of ``attacks``, and an enrolment video."""
    for split, client in (("train", 1), ("devel", 2), ("test", 3)):
        path = (root / split / "real" /
                f"client{client:03d}_session01_webcam_authenticate_adverse_1.mov")
        write(path, path.stem.encode())
        for support, inst, dev, med in attacks:
            path = (root / split / "attack" / support /
                    f"attack_{inst}_client{client:03d}_session01_{dev}_{med}_controlled.mov")
            write(path, path.stem.encode())
    touch(root / "enroll" / "client001_session01_enroll_adverse.mov")  # not for PAD
    return root


@pytest.fixture
def replay_tree(tmp_path):
    return replay_files(tmp_path / "replay")


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


def oulu_tree(root, phones=(1, 2, 3), users=(1, 21, 36), files=(1, 2, 4), sessions=(1, 3),
              write=touch):
    """A stand-in OULU-NPU tree (users 1-20 train, 21-35 dev, 36-55 test) with the
    Protocol_1 lists and the Protocol_3 lists of ``phones``' folds."""
    folder = {u: "Train" if u <= 20 else "Dev" if u <= 35 else "Test" for u in users}
    names = {u: [f"{p}_{s}_{u:02d}_{f}" for p in phones for s in sessions for f in files]
             for u in users}
    for u in users:
        for n in names[u]:
            write(root / f"{folder[u]}_files" / f"{n}.avi", n.encode())

    def write_list(path, split, test_when):
        """``split``'s videos for which ``test_when(name)`` is True in the Test list,
        the others in the Train/Dev lists."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{'+1' if n.endswith('_1') else '-1'},{n}\n"
                                for u in users if folder[u] == split for n in names[u]
                                if test_when(n) == (split == "Test")))

    for split in ("Train", "Dev", "Test"):
        write_list(root / "Protocols" / "Protocol_1" / f"{split}.txt", split,
                   lambda n: n.split("_")[1] == "3")
        for k in phones:
            write_list(root / "Protocols" / "Protocol_3" / f"{split}_{k}.txt", split,
                       lambda n, k=k: n[0] == str(k))
    return root


def test_oulu_protocol_1_reads_the_database_lists(tmp_path):
    root = oulu_tree(tmp_path / "oulu")
    recs = records("oulu-npu", root, "Protocol_1")
    assert {r.split for r in recs} == {"train", "devel", "test"}
    assert all((r.path.split("_")[-3] == "3") == (r.split == "test") for r in recs)
    assert {r.attack_type for r in recs} == {"", "print", "replay"}
    assert {r.subject for r in recs if r.split == "test"} == {"36"}
    assert (tmp_path / "oulu" / "Test_files").is_dir()


def test_oulu_protocol_3_has_one_fold_per_phone_and_each_fold_tests_its_phone(tmp_path):
    root = oulu_tree(tmp_path / "oulu")
    card = protocols.load_card("oulu-npu")
    assert protocols.folds(card, "Protocol_3") == ["1", "2", "3", "4", "5", "6"]
    for fold in ("1", "2", "3"):
        recs = records("oulu-npu", root, "Protocol_3", fold)
        phones = {r.split: set() for r in recs}
        for r in recs:
            phones[r.split].add(r.video_id.split("--")[1][0])
        assert phones["test"] == {fold} and fold not in phones["train"] | phones["devel"]


def test_oulu_errors_name_the_list_and_line(tmp_path):
    root = oulu_tree(tmp_path / "oulu")
    with pytest.raises(DatasetError, match="Protocol_3/Train_4.txt does not exist"):
        records("oulu-npu", root, "Protocol_3", "4")
    lst = root / "Protocols" / "Protocol_1" / "Dev.txt"
    lst.write_text(lst.read_text() + "+1,6_1_22_1\n")
    with pytest.raises(DatasetError, match=r"Dev.txt, line \d+: video '6_1_22_1' is not under"):
        records("oulu-npu", root, "Protocol_1")


def test_replay_mobile(tmp_path):
    root = tmp_path / "rm"
    for split, c in (("train", 1), ("devel", 5), ("test", 2)):
        touch(root / split / "real" / f"client{c:03d}_session02_authenticate_mobile_adverse.mov")
        touch(root / split / "attack" /
              f"attack_client{c:03d}_session01_mattescreen_fixed_mobile_photo_lightoff.mov")
        touch(root / split / "attack" /
              f"attack_client{c:03d}_session01_print_hand_tablet_photo_lighton.mov")
    touch(root / "enroll" / "train" / "client001_session01_enroll_mobile_lighton.mov")
    assert len(records("replay-mobile", root)) == 9
    recs = records("replay-mobile", root, "print")
    assert {r.attack_type for r in recs} == {"", "print"} and len(recs) == 6


def casia_tree(root, folders=(("train", 4), ("test", 2)),
               codes=("1", "2", "HR_1", "3", "6", "HR_4"), write=touch):
    """A stand-in CASIA-FASD tree: ``n`` subject folders per release, each with ``codes``."""
    for release, n in folders:
        for folder in range(1, n + 1):
            for code in codes:
                write(root / f"{release}_release" / str(folder) / f"{code}.avi",
                      f"{release}{folder}_{code}".encode())
    return root


def msu_tree(root, clients=((2, "mp4"), (3, "mp4"), (5, "mov"), (1, "mp4"), (13, "mov")),
             train=(2, 3, 5), test=(1, 13), write=touch):
    """A stand-in MSU-MFSD tree: per client a bona fide and a printed-photo video (Android
    ``.mp4``, laptop ``.mov``) and the official subject lists."""
    for c, ext in clients:
        cam = "android" if ext == "mp4" else "laptop"
        for path in (root / "scene01" / "real" / f"real_client{c:03d}_{cam}_SD_scene01.{ext}",
                     root / "scene01" / "attack" /
                     f"attack_client{c:03d}_{cam}_SD_printed_photo_scene01.{ext}"):
            write(path, path.stem.encode())
    root.mkdir(parents=True, exist_ok=True)
    (root / "train_sub_list.txt").write_text("".join(f"{c:02d}\n" for c in train))
    (root / "test_sub_list.txt").write_text("".join(f"{c:02d}\n" for c in test))
    return root


def test_casia_carves_a_subject_disjoint_devel_from_train(tmp_path):
    root = casia_tree(tmp_path / "casia")
    recs = records("casia-fasd", root, split_seed=3)
    subjects = {s: {r.subject for r in recs if r.split == s} for s in ("train", "devel", "test")}
    assert len(subjects["devel"]) == 1 and len(subjects["train"]) == 3
    assert subjects["test"] == {"test1", "test2"}  # test folders restart at 1: kept apart
    assert not subjects["devel"] & subjects["train"]
    assert {r.attack_type for r in recs} == {"", "warped", "cut", "video"}
    carved = {seed: {r.subject for r in records("casia-fasd", root, split_seed=seed)
                     if r.split == "devel"} for seed in range(8)}
    assert len({frozenset(s) for s in carved.values()}) > 1  # the seed picks the subject
    assert carved[3] == subjects["devel"]  # reproducibly
    low = records("casia-fasd", root, "low")
    assert {r.path.rsplit("/", 1)[1] for r in low} == {"2.avi", "6.avi"}


def test_msu_reads_the_subject_lists(tmp_path):
    root = msu_tree(tmp_path / "msu")
    recs = records("msu-mfsd", root)
    split = {r.subject: r.split for r in recs}
    assert split["001"] == split["013"] == "test"
    assert sorted(v for k, v in split.items() if k in ("002", "003", "005")).count("devel") == 1
    (root / "test_sub_list.txt").write_text("01\n")
    with pytest.raises(DatasetError, match="no split for this video"):
        records("msu-mfsd", root)


def test_every_card_is_documented_with_its_protocols():
    doc = (protocols.CARDS.parents[2] / "docs" / "protocols.md").read_text()
    for name in protocols.card_names():
        assert f"`{name}`" in doc
        for proto in protocols.load_card(name)["protocols"]:
            assert f"`{proto}`" in doc, (name, proto)


def celeba_tree(root, subjects=(("train", "1001"), ("train", "1002"), ("train", "1003"),
                                ("test", "9001")), write=touch):
    """A stand-in CelebA-Spoof tree: per subject two live images and two spoof ones
    (photo, phone), each with its ``_BB.txt`` box, and the intra-test label files."""
    labels = {"train": {}, "test": {}}
    for folder, subject in subjects:
        for kind, image, spoof_type in (("live", "000001", 0), ("live", "000002", 0),
                                        ("spoof", "000003", 1), ("spoof", "000004", 9)):
            rel = f"Data/{folder}/{subject}/{kind}/{image}.jpg"
            write(root / rel, rel.encode())
            (root / rel).with_name(f"{image}_BB.txt").write_text("56 56 112 112 0.99\n")
            labels[folder][rel] = [0] * 40 + [spoof_type, 1, 2, int(kind == "spoof")]
    for folder, found in labels.items():
        path = root / "metas" / "intra_test" / f"{folder}_label.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(found))
    return root


def test_celeba_spoof_reads_its_label_files_and_carves_devel(tmp_path):
    root = celeba_tree(tmp_path / "celeba")
    recs = records("celeba-spoof", root)
    assert len(recs) == 16
    assert {r.attack_type for r in recs if r.label == "attack"} == {"photo", "phone"}
    assert {r.attack_type for r in recs if r.label == "bonafide"} == {""}
    splits = {r.subject: r.split for r in recs}
    assert splits["9001"] == "test" and list(splits.values()).count("devel") == 1
    assert all(r.annotations.endswith("_BB.txt") for r in recs)
    assert recs[0].video_id == "Data--test--9001--live--000001"


def test_celeba_spoof_errors_name_the_image(tmp_path):
    root = celeba_tree(tmp_path / "celeba")
    listed = root / "metas" / "intra_test" / "train_label.json"
    labels = json.loads(listed.read_text())
    rel = "Data/train/1001/spoof/000003.jpg"
    labels[rel][43] = 0
    listed.write_text(json.dumps(labels))
    with pytest.raises(DatasetError, match="000003.jpg: the label files give spoof=0 "
                                           "\\(bonafide\\), but its folder says attack"):
        records("celeba-spoof", root)
    del labels[rel]
    listed.write_text(json.dumps(labels))
    with pytest.raises(DatasetError, match="000003.jpg: not listed in the label files"):
        records("celeba-spoof", root)
    listed.unlink()
    with pytest.raises(DatasetError, match="label file .*train_label.json does not exist"):
        records("celeba-spoof", root)

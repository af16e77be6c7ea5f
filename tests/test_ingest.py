import pytest

from biorepro import ingest
from biorepro.records import VideoRecord
from biorepro.splitting import SplitError, assign_splits


def touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def replay_tree(tmp_path):
    root = tmp_path / "replay"
    for split, client in (("train", 1), ("devel", 2), ("test", 3)):
        touch(root / split / "real" / f"client{client:03d}_session01_webcam_authenticate_adverse_1.mov")
        for support, inst, dev, med in (("fixed", "print", "highdef", "photo"),
                                        ("hand", "mobile", "mobile", "video"),
                                        ("fixed", "highdef", "highdef", "photo")):
            touch(root / split / "attack" / support /
                  f"attack_{inst}_client{client:03d}_session01_{dev}_{med}_controlled.mov")
    return root


def test_replay_attack_grandtest(replay_tree):
    records = ingest.replay_attack(replay_tree, "grandtest", [".mov"])
    assert len(records) == 12
    real = [r for r in records if r.label == "bonafide"]
    assert {r.subject for r in real} == {"client001", "client002", "client003"}
    attack = next(r for r in records if r.attack_type == "mobile")
    assert attack.split in ("train", "devel", "test") and attack.subject.startswith("client")
    assert attack.video_id.count("--") == 3  # split--attack--hand--name


@pytest.mark.parametrize("protocol,n_attacks", [("print", 3), ("photo", 6), ("video", 3),
                                                ("hand", 3), ("highdef", 3)])
def test_replay_attack_protocols(replay_tree, protocol, n_attacks):
    records = ingest.replay_attack(replay_tree, protocol, [".mov"])
    assert sum(r.label == "attack" for r in records) == n_attacks
    assert sum(r.label == "bonafide" for r in records) == 3


def test_replay_attack_bad_layouts(tmp_path, replay_tree):
    with pytest.raises(ingest.DatasetError, match="does not exist"):
        ingest.replay_attack(tmp_path / "nope", "grandtest", [".mov"])
    touch(replay_tree / "train" / "real" / "holiday.mov")
    with pytest.raises(ingest.DatasetError, match="holiday.mov"):
        ingest.replay_attack(replay_tree, "grandtest", [".mov"])


def test_folders_with_and_without_splits(tmp_path):
    root = tmp_path / "f"
    for split in ("train", "devel", "test"):
        touch(root / split / "bonafide" / f"s1_{split}.mp4")
        touch(root / split / "replay" / f"s1_{split}_r.mp4")
    recs = ingest.folders(root, "bonafide", [".mp4"], r"^(?P<subject>s\d+)_")
    assert {r.attack_type for r in recs if r.label == "attack"} == {"replay"}
    assert {r.subject for r in recs} == {"s1"}
    flat = tmp_path / "flat"
    touch(flat / "real" / "a.mp4")
    touch(flat / "print" / "b.mp4")
    recs = ingest.folders(flat, "real", [".mp4"])
    assert all(r.split == "" for r in recs)
    with pytest.raises(ingest.DatasetError, match="bonafide_class"):
        ingest.folders(flat, "bonafide", [".mp4"])
    partial = tmp_path / "partial"
    touch(partial / "train" / "bonafide" / "a.mp4")
    with pytest.raises(ingest.DatasetError, match="train/devel/test"):
        ingest.folders(partial, "bonafide", [".mp4"])


def test_manifest(tmp_path):
    touch(tmp_path / "v" / "a.mov")
    touch(tmp_path / "v" / "b.mov")
    m = tmp_path / "m.csv"
    m.write_text("path,label,subject,attack_type\nv/a.mov,bonafide,s1,\nv/b.mov,attack,s1,print\n")
    recs = ingest.manifest(m)
    assert [(r.video_id, r.label, r.attack_type) for r in recs] == [
        ("v--a", "bonafide", ""), ("v--b", "attack", "print")]
    m.write_text("path,label,subject\nv/a.mov,real,s1\n")
    with pytest.raises(ingest.DatasetError, match="m.csv, row 2: label 'real'"):
        ingest.manifest(m)
    m.write_text("path,label,subject\nv/zzz.mov,attack,s1\n")
    with pytest.raises(ingest.DatasetError, match="row 2: video .*zzz.mov does not exist"):
        ingest.manifest(m)
    m.write_text("path,label\nv/a.mov,attack\n")
    with pytest.raises(ingest.DatasetError, match="missing column"):
        ingest.manifest(m)


def test_duplicate_ids_are_an_error():
    recs = [VideoRecord("x", "/a/x.mov", "bonafide", "s"), VideoRecord("x", "/b/x.mov", "bonafide", "t")]
    with pytest.raises(ingest.DatasetError, match="/a/x.mov and /b/x.mov"):
        ingest.check_unique_ids(recs)


def _records(n_subjects):
    out = []
    for s in range(n_subjects):
        out.append(VideoRecord(f"r{s}", f"/r{s}.mov", "bonafide", f"s{s}"))
        out.append(VideoRecord(f"a{s}", f"/a{s}.mov", "attack", f"s{s}", attack_type="print"))
    out.append(VideoRecord("only_attack", "/oa.mov", "attack", "x", attack_type="print"))
    return out


def test_assign_splits_subject_disjoint_stratified_reproducible():
    recs = _records(20)
    out = assign_splits(recs, {"train": 0.5, "devel": 0.25, "test": 0.25}, seed=3)
    split_of = {}
    for r in out:
        assert split_of.setdefault(r.subject, r.split) == r.split  # subject-disjoint
    counts = {s: sum(1 for v in split_of.values() if v == s) for s in ("train", "devel", "test")}
    assert counts["train"] in (10, 11) and counts["devel"] in (5, 6) and counts["test"] in (5, 6)
    assert out == assign_splits(list(reversed(recs)), {"train": 0.5, "devel": 0.25, "test": 0.25},
                                seed=3)[::-1]
    other = assign_splits(recs, {"train": 0.5, "devel": 0.25, "test": 0.25}, seed=4)
    assert [r.split for r in other] != [r.split for r in out]


def test_assign_splits_errors():
    with pytest.raises(SplitError, match="would be empty"):
        assign_splits(_records(1)[:2], {"train": 0.5, "devel": 0.25, "test": 0.25}, seed=0)
    mixed = [VideoRecord("a", "/a", "bonafide", "s", "train"), VideoRecord("b", "/b", "bonafide", "t")]
    with pytest.raises(SplitError, match="/b"):
        assign_splits(mixed, {"train": 0.5, "devel": 0.25, "test": 0.25}, seed=0)

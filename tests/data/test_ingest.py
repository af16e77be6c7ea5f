from pathlib import Path

import pytest

from biorepro.data import ingest
from biorepro.data.records import VideoRecord


def touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


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


def test_manifest_with_byte_order_mark(tmp_path):
    touch(tmp_path / "a.mov")
    m = tmp_path / "m.csv"
    m.write_text("path,label,subject\na.mov,bonafide,s1\n", encoding="utf-8-sig")
    assert [r.video_id for r in ingest.manifest(m)] == ["a"]


def test_manifest_unknown_columns_are_named(tmp_path):
    touch(tmp_path / "a.mov")
    m = tmp_path / "m.csv"
    m.write_text("path,label,subject,attack-type\na.mov,attack,s1,print\n")
    with pytest.raises(ingest.DatasetError) as err:
        ingest.manifest(m)
    assert "unknown column(s) ['attack-type']" in str(err.value)
    assert ("path, label, subject (required) and split, attack_type, annotations (optional)"
            in str(err.value))
    m.write_text("path,label,subject\na.mov,attack,s1,print\n")
    with pytest.raises(ingest.DatasetError, match="row 2: not as many fields as the header's 3"):
        ingest.manifest(m)


def test_manifest_repeated_row(tmp_path):
    touch(tmp_path / "v" / "a.mov")
    m = tmp_path / "m.csv"
    m.write_text("path,label,subject\nv/a.mov,bonafide,s1\n\n"
                 f"{tmp_path}/v/../v/a.mov,bonafide,s1\n")
    with pytest.raises(ingest.DatasetError, match=r"m.csv: row 4 repeats row 2 \(both are "):
        ingest.manifest(m)


def test_manifest_paths_outside_its_folder(tmp_path):
    outside = touch(tmp_path / "elsewhere" / "x.mov")
    data = tmp_path / "data"
    touch(data / "a.mov")
    (data / "link.mov").symlink_to(outside)
    m = data / "m.csv"
    for path in ("../elsewhere/x.mov", str(outside), "link.mov"):
        m.write_text(f"path,label,subject\na.mov,bonafide,s1\n{path},attack,s1\n")
        with pytest.raises(ingest.DatasetError, match=r"m.csv, row 3: video .* resolves to "
                                                      r".*elsewhere/x.mov, outside .*"
                                                      "dataset.allow_outside_root: true"):
            ingest.manifest(m)
        recs = ingest.manifest(m, allow_outside_root=True)
        assert [r.video_id for r in recs] == ["a", Path(path).stem]


def test_manifest_annotations_column(tmp_path):
    touch(tmp_path / "d" / "v" / "a.mov")
    touch(tmp_path / "d" / "v" / "b.mov")
    touch(tmp_path / "d" / "faces" / "a.csv")
    touch(tmp_path / "outside.csv")
    m = tmp_path / "d" / "m.csv"
    m.write_text("path,label,subject,annotations\nv/a.mov,bonafide,s1,faces/a.csv\n"
                 "v/b.mov,attack,s1,\n")
    a, b = ingest.manifest(m)
    assert a.annotations == str(tmp_path / "d" / "faces" / "a.csv") and b.annotations == ""
    m.write_text("path,label,subject,annotations\nv/a.mov,bonafide,s1,faces/zz.csv\n")
    with pytest.raises(ingest.DatasetError, match=r"m.csv, row 2: annotation file .*zz.csv "
                                                  "does not exist"):
        ingest.manifest(m)
    m.write_text("path,label,subject,annotations\nv/a.mov,bonafide,s1,../outside.csv\n")
    with pytest.raises(ingest.DatasetError, match=r"row 2: annotation file .* resolves outside"):
        ingest.manifest(m)
    assert ingest.manifest(m, allow_outside_root=True)[0].annotations.endswith("outside.csv")


def test_duplicate_ids_are_an_error():
    recs = [VideoRecord("x", "/a/x.mov", "bonafide", "s"),
            VideoRecord("x", "/b/x.mov", "bonafide", "t")]
    with pytest.raises(ingest.DatasetError, match="/a/x.mov and /b/x.mov"):
        ingest.check_unique_ids(recs)

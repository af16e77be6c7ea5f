import pytest

from biorepro import config as cfg
from biorepro import plan
from biorepro.data.records import VideoRecord
from biorepro.data.splitting import SplitError, assign_splits, require_classes
from tests.data.test_ingest import touch

FRACTIONS = {"train": 0.5, "devel": 0.25, "test": 0.25}


def _records(n_subjects):
    out = []
    for s in range(n_subjects):
        out.append(VideoRecord(f"r{s}", f"/r{s}.mov", "bonafide", f"s{s}"))
        out.append(VideoRecord(f"a{s}", f"/a{s}.mov", "attack", f"s{s}", attack_type="print"))
    out.append(VideoRecord("only_attack", "/oa.mov", "attack", "x", attack_type="print"))
    return out


def test_assign_splits_subject_disjoint_stratified_reproducible():
    recs = _records(20)
    out = assign_splits(recs, FRACTIONS, seed=3)
    split_of = {}
    for r in out:
        assert split_of.setdefault(r.subject, r.split) == r.split  # subject-disjoint
    counts = {s: sum(1 for v in split_of.values() if v == s) for s in ("train", "devel", "test")}
    assert counts["train"] in (10, 11) and counts["devel"] in (5, 6) and counts["test"] in (5, 6)
    assert out == assign_splits(list(reversed(recs)), FRACTIONS, seed=3)[::-1]
    other = assign_splits(recs, FRACTIONS, seed=4)
    assert [r.split for r in other] != [r.split for r in out]


def test_assign_splits_errors():
    with pytest.raises(SplitError, match="would be empty"):
        assign_splits(_records(1)[:2], FRACTIONS, seed=0)
    mixed = [VideoRecord("a", "/a", "bonafide", "s", "train"),
             VideoRecord("b", "/b", "bonafide", "t")]
    with pytest.raises(SplitError, match="/b"):
        assign_splits(mixed, FRACTIONS, seed=0)


def _split(counts):
    """Records with ``counts[split] = (bona fide, attack)`` videos."""
    return [VideoRecord(f"{s}{label}{i}", f"/{s}{label}{i}.mov", label, f"{s}{i}", s)
            for s, (nb, na) in counts.items()
            for label, n in (("bonafide", nb), ("attack", na)) for i in range(n)]


def test_require_classes_names_each_split_and_its_counts():
    ok = _split({"train": (2, 2), "devel": (1, 1), "test": (1, 3)})
    assert require_classes(ok) is ok
    with pytest.raises(SplitError) as err:
        require_classes(_split({"train": (2, 2), "devel": (0, 3), "test": (8, 0)}))
    msg = str(err.value)
    assert "split 'devel' has 0 bona fide and 3 attack videos: the threshold is chosen" in msg
    assert "add bona fide videos to it" in msg
    assert "split 'test' has 8 bona fide and 0 attack videos" in msg and "APCER" in msg
    assert "split 'train'" not in msg
    with pytest.raises(SplitError, match="split 'train' has 0 bona fide and 0 attack videos.*"
                                         "add bona fide and attack videos"):
        require_classes(_split({"devel": (1, 1), "test": (1, 1)}))


def _replay(root, attack_splits):
    for split, client in (("train", 1), ("devel", 2), ("test", 3)):
        touch(root / split / "real" /
              f"client{client:03d}_session01_webcam_authenticate_adverse_1.mov")
        if split in attack_splits:
            touch(root / split / "attack" / "fixed" /
                  f"attack_print_client{client:03d}_session01_highdef_photo_controlled.mov")
    return root


@pytest.mark.parametrize("kind", ["replay-attack", "synthetic", "folders", "manifest"])
def test_every_dataset_kind_checks_its_splits(tmp_path, monkeypatch, kind):
    """A test split without attacks is an error whichever kind of dataset it comes from."""
    root = tmp_path / "data"
    if kind in ("replay-attack", "synthetic"):
        _replay(root, ("train", "devel"))
        monkeypatch.setattr(plan.synthetic, "generated_dataset", lambda *_: root)
    elif kind == "folders":
        for split in ("train", "devel", "test"):
            touch(root / split / "bonafide" / "a.mov")
            if split != "test":
                touch(root / split / "print" / "b.mov")
    else:
        rows = ["path,label,subject,split,attack_type"]
        for split in ("train", "devel", "test"):
            rows.append(f"{touch(root / f'{split}_a.mov').name},bonafide,{split},{split},")
            if split != "test":
                rows.append(f"{touch(root / f'{split}_b.mov').name},attack,{split},{split},print")
        (root / "m.csv").write_text("\n".join(rows) + "\n")
    conf = cfg.validate({"dataset": {"kind": kind, "root": str(root),
                                     "manifest": str(root / "m.csv")}})
    with pytest.raises(SplitError, match="split 'test' has 1 bona fide and 0 attack videos"):
        plan.dataset_records(conf)


def test_assigned_splits_are_checked_too(tmp_path):
    """Attacks of a single subject land in one split: the others have none."""
    root = tmp_path / "flat"
    for s in range(8):
        touch(root / "bonafide" / f"s{s}.mov")
    touch(root / "print" / "x.mov")
    conf = cfg.validate({"dataset": {"kind": "folders", "root": str(root)}})
    with pytest.raises(SplitError, match=r"(?s)split 'devel' has 2 bona fide and 0 attack.*"
                                         "dataset.split_seed"):
        plan.dataset_records(conf)


def test_split_job_refuses_a_split_left_without_a_class_by_skipped_bad_videos(tmp_path):
    import json

    import cv2
    import numpy as np

    from biorepro.jobs import split as split_job

    videos, frames = {}, {}
    for s in ("train", "devel", "test"):
        for label in ("bonafide", "attack"):
            vid = f"{s}-{label}"
            videos[vid] = {"label": label, "subject": f"{s}-subject", "split": s,
                           "attack_type": "print" if label == "attack" else ""}
            d = tmp_path / "frames" / vid
            (d / "frames").mkdir(parents=True)
            bad = vid == "test-attack"
            (d / "frames.json").write_text(json.dumps({"bad": bad, "reason": "empty file"}))
            if not bad:
                cv2.imwrite(str(d / "frames" / "00000.png"), np.zeros((4, 4, 3), np.uint8))
            frames[vid] = str(d)
    with pytest.raises(SplitError, match="bad video.*split 'test' has 1 bona fide and 0 attack"):
        split_job.build({"ingredients": {"params": {"on_bad_video": "skip", "videos": videos}},
                         "inputs": {"frames": frames}}, tmp_path / "out", print)

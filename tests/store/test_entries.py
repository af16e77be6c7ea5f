import json
import os
import stat

import numpy as np
import pytest

from biorepro.store.entries import (
    PROVENANCE,
    QUARANTINE,
    TMP_PREFIX,
    DamagedEntryError,
    check_entry,
    entry_path,
    is_published,
    quarantine,
    remove_tree,
    staging,
    verify_entry,
    write_provenance,
)
from biorepro.store.keys import derive_key


def read_provenance(entry):
    return json.loads((entry / PROVENANCE).read_text())


def test_publish_is_atomic_and_records_provenance(tmp_path):
    final = entry_path(tmp_path, "widgets", "k1")
    with staging(final) as tmp:
        assert not final.exists()
        (tmp / "data.txt").write_text("x")
        write_provenance(tmp, {"stage": "widgets"}, {"duration_s": 1.0})
    assert is_published(final)
    prov = read_provenance(final)
    assert prov["ingredients"] == {"stage": "widgets"}
    assert prov["observed"]["duration_s"] == 1.0 and "host" in prov["observed"]


def test_failure_leaves_nothing(tmp_path):
    final = entry_path(tmp_path, "widgets", "k2")
    with pytest.raises(RuntimeError):
        with staging(final) as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("killed")
    assert not final.exists()
    assert not [p for p in final.parent.iterdir() if p.name.startswith(TMP_PREFIX)]


def test_publishing_without_provenance_is_refused(tmp_path):
    final = entry_path(tmp_path, "widgets", "k3")
    with pytest.raises(RuntimeError, match=PROVENANCE):
        with staging(final) as tmp:
            (tmp / "x").write_text("x")
    assert not final.exists()


def test_second_publisher_keeps_the_first_entry(tmp_path):
    final = entry_path(tmp_path, "gizmos", "k4")
    with staging(final) as tmp:
        (tmp / "who").write_text("first")
        write_provenance(tmp, {})
    with staging(final) as tmp:
        (tmp / "who").write_text("second")
        write_provenance(tmp, {})
    assert (final / "who").read_text() == "first"
    assert sorted(p.name for p in final.parent.iterdir()) == ["k4"]


def test_empty_directory_placeholder_is_replaced(tmp_path):
    final = entry_path(tmp_path, "split", "k5")
    final.mkdir(parents=True)
    with staging(final) as tmp:
        write_provenance(tmp, {})
    assert is_published(final)


def test_entries_follow_the_users_umask_and_are_read_only(tmp_path):
    old = os.umask(0o027)
    try:
        final = entry_path(tmp_path, "widgets", "k6")
        with staging(final) as tmp:
            (tmp / "sub").mkdir()
            (tmp / "sub" / "f").write_text("x")
            write_provenance(tmp, {})
    finally:
        os.umask(old)
    for path in (final, final / "sub", final / "sub" / "f", final / PROVENANCE):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o222 == 0, (path, oct(mode))  # nobody may write
        assert mode & 0o040 and not mode & 0o004, (path, oct(mode))  # umask 027 kept
    remove_tree(final)
    assert not final.exists()


INGREDIENTS = {"stage": "gadgets", "params": {"image_size": 8}}


def published(tmp_path, files=None, ingredients=INGREDIENTS):
    """A real entry whose folder name is the key of its ingredients."""
    stage = ingredients["stage"]
    final = entry_path(tmp_path / "store", stage, derive_key(ingredients))
    with staging(final) as tmp:
        for rel, data in (files or {"images.npy": b"\x01" * 64, "sub/a.csv": b"a,b\n"}).items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(data)
        write_provenance(tmp, ingredients, {"duration_s": 0.1})
    return final


def test_provenance_lists_every_file_digest(tmp_path):
    final = published(tmp_path)
    files = read_provenance(final)["files"]
    assert list(files) == ["images.npy", "sub/a.csv"]
    assert files["images.npy"]["size"] == 64 and len(files["images.npy"]["sha256"]) == 64
    assert check_entry(final).ok
    verify_entry(final)


def writable(final):
    for p in [final, *final.rglob("*")]:
        os.chmod(p, stat.S_IMODE(p.stat().st_mode) | 0o200)


def _damage(final, how):
    writable(final)
    if how == "deleted":
        (final / "sub/a.csv").unlink()
        return "sub/a.csv is missing"
    if how == "truncated":
        (final / "images.npy").write_bytes(b"\x01" * 10)
        return "images.npy has 10 bytes"
    if how == "zeroed":
        (final / "images.npy").write_bytes(bytes(64))
        return "images.npy has other content"
    if how == "extra":
        (final / "sub/b.csv").write_text("x")
        return "unexpected file sub/b.csv"
    record = read_provenance(final)
    if how == "provenance edited":
        record["observed"]["duration_s"] = 99
        (final / PROVENANCE).write_text(json.dumps(record))
        return "modified after publication"
    if how == "provenance deleted":
        (final / PROVENANCE).unlink()
        return "provenance.json is missing"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["deleted", "truncated", "zeroed", "extra",
                                 "provenance edited", "provenance deleted"])
def test_check_entry_names_each_kind_of_damage(tmp_path, how):
    final = published(tmp_path)
    expected = _damage(final, how)
    check = check_entry(final)
    assert not check.ok and any(expected in p for p in check.problems), check.problems
    with pytest.raises(DamagedEntryError, match="biorepro fsck --repair"):
        verify_entry(final)
    if how == "zeroed":  # same size: only the deep check sees it
        assert check_entry(final, deep=False).ok


def test_ingredients_that_do_not_hash_to_the_key_are_damage(tmp_path):
    final = published(tmp_path)
    other = final.parent / ("0" * len(final.name))
    os.rename(final, other)
    assert any("do not hash to the key" in p for p in check_entry(other).problems)


def test_quarantine_moves_the_entry_out_of_the_store(tmp_path):
    final = published(tmp_path)
    moved = quarantine(final)
    assert not final.exists() and moved.is_dir()
    assert moved.parent == tmp_path / "store" / QUARANTINE / "gadgets"
    assert (moved / "images.npy").read_bytes() == b"\x01" * 64


def test_a_leftover_folder_without_provenance_is_replaced(tmp_path):
    final = published(tmp_path, files={"x.npy": np.zeros(3).tobytes()})
    _damage(final, "provenance deleted")
    assert not is_published(final)
    with staging(final) as tmp:
        (tmp / "x.npy").write_bytes(np.zeros(3).tobytes())
        write_provenance(tmp, INGREDIENTS)
    assert check_entry(final).ok


def test_a_record_found_intact_is_not_read_again_but_its_files_are_checked(tmp_path,
                                                                          monkeypatch):
    from biorepro.store import entries, hashing

    monkeypatch.setattr(hashing, "RACY_NS", 0)  # every record is settled at once
    final = published(tmp_path)
    cache = tmp_path / "verified.json"
    assert check_entry(final, deep=False, verified=(v := entries.VerifiedRecords(cache))).ok
    v.save()

    def unread(where):
        raise AssertionError(f"{where}: record read again")

    with monkeypatch.context() as m:
        m.setattr(entries, "_check_record", unread)
        assert check_entry(final, deep=False, verified=entries.VerifiedRecords(cache)).ok
        os.chmod(final / "images.npy", 0o644)  # (the record's own stat stays as it was)
        (final / "images.npy").write_bytes(b"\x01" * 10)  # truncated: seen from its size
        problems = check_entry(final, deep=False,
                               verified=entries.VerifiedRecords(cache)).problems
        assert problems == ("images.npy has 10 bytes, 64 recorded",)
    writable(final)
    record = json.loads((final / PROVENANCE).read_text())
    record["ingredients"]["params"]["image_size"] = 9  # an edited record: read again
    (final / PROVENANCE).write_text(json.dumps(record))
    problems = check_entry(final, deep=False, verified=entries.VerifiedRecords(cache)).problems
    assert any("modified after publication" in p for p in problems)

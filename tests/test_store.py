import os

import pytest

from biorepro.store import (PROVENANCE, TMP_PREFIX, entry_path, is_published,
                            read_provenance, staging, write_provenance)


def test_publish_is_atomic_and_records_provenance(tmp_path):
    final = entry_path(tmp_path, "frames", "k1")
    with staging(final) as tmp:
        assert not final.exists()
        (tmp / "data.txt").write_text("x")
        write_provenance(tmp, {"stage": "frames"}, {"duration_s": 1.0})
    assert is_published(final)
    prov = read_provenance(final)
    assert prov["ingredients"] == {"stage": "frames"}
    assert prov["observed"]["duration_s"] == 1.0 and "host" in prov["observed"]


def test_failure_leaves_nothing(tmp_path):
    final = entry_path(tmp_path, "frames", "k2")
    with pytest.raises(RuntimeError):
        with staging(final) as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("killed")
    assert not final.exists()
    assert not [p for p in final.parent.iterdir() if p.name.startswith(TMP_PREFIX)]


def test_publishing_without_provenance_is_refused(tmp_path):
    final = entry_path(tmp_path, "frames", "k3")
    with pytest.raises(RuntimeError, match=PROVENANCE):
        with staging(final) as tmp:
            (tmp / "x").write_text("x")
    assert not final.exists()


def test_second_publisher_keeps_the_first_entry(tmp_path):
    final = entry_path(tmp_path, "train", "k4")
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


def test_entries_follow_the_users_umask(tmp_path):
    old = os.umask(0o002)
    try:
        final = entry_path(tmp_path, "frames", "k6")
        with staging(final) as tmp:
            (tmp / "f").write_text("x")
            write_provenance(tmp, {})
    finally:
        os.umask(old)
    assert final.stat().st_mode & 0o020  # group-writable directory
    assert (final / "f").stat().st_mode & 0o020

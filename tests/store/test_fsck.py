import os

from biorepro.store.entries import (
    QUARANTINE,
    TMP_PREFIX,
    check_entry,
    entry_path,
    staging,
    write_provenance,
)
from biorepro.store.fsck import fsck, store_entries
from biorepro.store.keys import derive_key


def make(store, stage, n):
    ingredients = {"stage": stage, "params": {"n": n}}
    final = entry_path(store, stage, derive_key(ingredients))
    with staging(final) as tmp:
        (tmp / "data.bin").write_bytes(bytes([n]) * 100)
        write_provenance(tmp, ingredients)
    return final


def test_fsck_names_damaged_entries_and_repair_moves_only_those(tmp_path):
    store = tmp_path / "store"
    entries = [make(store, "widgets", n) for n in range(6)] + [make(store, "gizmos", 9)]
    bad = entries[2]
    os.chmod(bad, 0o755)
    os.chmod(bad / "data.bin", 0o644)
    (bad / "data.bin").write_bytes(bytes(100))  # same size, other content
    lines = []
    report = fsck(entries, log=lines.append)
    assert report.checked == 7 and [c.path for c in report.damaged] == [str(bad)]
    assert lines[0] == f"DAMAGED {bad}" and "data.bin has other content" in lines[1]
    report = fsck(entries, repair=True, log=lines.append)
    assert list(report.quarantined) == [str(bad)] and not bad.exists()
    assert (store / QUARANTINE / "widgets").is_dir()
    assert all(check_entry(e).ok for e in entries if e != bad)
    assert not fsck([e for e in entries if e != bad], log=lines.append).damaged


def test_the_whole_store_includes_folders_without_provenance(tmp_path):
    store = tmp_path / "store"
    good = make(store, "widgets", 1)
    orphan = store / "widgets" / ("a" * 24)
    orphan.mkdir()
    (store / "widgets" / f"{TMP_PREFIX}running").mkdir()  # a job still writing
    (store / QUARANTINE / "widgets").mkdir(parents=True)
    (store / "lost+found" / "#1234").mkdir(parents=True)  # a store at a mount's root
    found = store_entries(store)
    assert sorted(found) == sorted([good, orphan])
    report = fsck(found, log=lambda m: None)
    assert [c.path for c in report.damaged] == [str(orphan)]
    assert "provenance.json is missing" in report.damaged[0].problems[0]

import os
import time

from biorepro.gc import TMP_GRACE_S, collect, find_garbage
from biorepro.plan import Plan, Source, make_entry
from biorepro.status import explain, format_explanations
from biorepro.store.entries import staging, write_provenance
from biorepro.store.layouts import FRAMES


def publish(entry):
    with staging(entry.path) as tmp:
        (tmp / FRAMES.meta()).write_text("{}")
        write_provenance(tmp, entry.ingredients)


def frames(store, size, digest):
    return make_entry(str(store), "frames", {"size": size, "n_frames": 10},
                      {"video": Source(f"/v/{digest}.mov", digest)}, what=f"video /v/{digest}.mov")


def plan_of(store, *entries):
    plan = Plan(str(store), {})
    plan.by_key.update({(e.stage, e.key): e for e in entries})
    return plan


def test_status_names_the_changed_ingredient(tmp_path):
    old_a, old_b = frames(tmp_path, 128, "aaa"), frames(tmp_path, 128, "bbb")
    publish(old_a)
    publish(old_b)
    new_size = frames(tmp_path, 64, "aaa")
    new_video = frames(tmp_path, 128, "ccc")
    plan = plan_of(tmp_path, new_size, new_video, old_b)
    found = {x.entry.key: x for x in explain(plan)}
    assert set(found) == {new_size.key, new_video.key}
    assert found[new_size.key].changes == [("params.size", 128, 64)]
    assert found[new_size.key].nearest == old_a.key
    assert [c[0] for c in found[new_video.key].changes] == ["inputs.video"]
    text = format_explanations(plan, explain(plan))
    assert "1 of 3 planned entries are in the store" in text
    assert "params.size: 128 -> 64" in text


def test_status_on_empty_store(tmp_path):
    plan = plan_of(tmp_path, frames(tmp_path, 128, "aaa"))
    assert "the store has no frames entry yet" in format_explanations(plan, explain(plan))


def test_gc_removes_only_unreached_entries_and_stale_temporaries(tmp_path):
    keep, drop = frames(tmp_path, 128, "aaa"), frames(tmp_path, 64, "aaa")
    publish(keep)
    publish(drop)
    stale = tmp_path / "frames" / ".tmp-deadbeef-1"
    fresh = tmp_path / "frames" / ".tmp-cafe-2"
    stale.mkdir()
    fresh.mkdir()
    old = time.time() - TMP_GRACE_S - 10
    os.utime(stale, (old, old))
    plan = plan_of(tmp_path, keep)
    garbage = find_garbage(plan)
    assert sorted(g.path.name for g in garbage) == sorted([drop.key, stale.name])
    assert os.path.isdir(drop.path)  # finding is a dry run
    collect(garbage)
    assert not os.path.exists(drop.path) and not stale.exists()
    assert os.path.isdir(keep.path) and fresh.exists()


def test_status_names_the_changed_module(tmp_path):
    from biorepro.plan import Entry
    from biorepro.store.keys import derive_key, ingredients

    def entry(train_digest, user_digest="u1"):
        user = {"function": "build", "code": {"digest": user_digest * 4,
                                              "parts": {"my_net": user_digest}}}
        ingr = ingredients("train", {"digest": train_digest * 4,
                                     "parts": {"biorepro.train.fit": train_digest,
                                               "biorepro.train.model": "m1"}},
                           {}, {"seed": 0, "model": user}, {"tensors": "t"})
        key = derive_key(ingr)
        return Entry("train", key, str(tmp_path / "train" / key), ingr, what="seed 0")

    publish(entry("aa"))
    [x] = explain(plan_of(tmp_path, entry("bb")))
    assert x.changes == [("code.parts.biorepro.train.fit", "aa", "bb")]
    [x] = explain(plan_of(tmp_path, entry("aa", "u2")))
    assert x.changes == [("params.model.code.parts.my_net", "u1", "u2")]


def test_gc_removes_quarantined_entries(tmp_path):
    from biorepro.store.entries import quarantine

    damaged = frames(tmp_path, 128, "aaa")
    publish(damaged)
    moved = quarantine(damaged.path)
    plan = plan_of(tmp_path, damaged)
    garbage = find_garbage(plan)
    assert [(g.path, g.reason) for g in garbage] == [
        (moved, "quarantined by biorepro fsck --repair")]
    collect(garbage)
    assert not moved.exists()

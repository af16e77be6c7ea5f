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
    plan.by_recipe.update({(e.stage, e.recipe): e for e in entries})
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
        return Entry("train", key, key, str(tmp_path), ingr, what="seed 0")

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


def test_gc_keeps_what_live_roots_list_and_drops_what_dead_ones_do(tmp_path):
    from biorepro.gc import honoured_roots
    from biorepro.store import roots

    mine, theirs, orphan = (frames(tmp_path, s, "aaa") for s in (128, 64, 32))
    for e in (mine, theirs, orphan):
        publish(e)
    elsewhere = tmp_path / "their-workdir"
    elsewhere.mkdir()
    identity = roots.config_identity(elsewhere, ["their.yaml"], {"seeds": [1]})
    roots.record_config(tmp_path, identity, [("frames", theirs.key, theirs.what)])
    gone = roots.config_identity(tmp_path / "deleted", [], None)
    roots.record_config(tmp_path, gone, [("frames", orphan.key, orphan.what)])
    found = honoured_roots(str(tmp_path))
    assert [r.path for r in found.live] == [str(elsewhere.resolve())]
    assert [why for _, why in found.dead] == [f"{tmp_path / 'deleted'} no longer exists"]
    plan = plan_of(tmp_path, mine)
    assert [g.path.name for g in find_garbage(plan, keep=found.live)] == [orphan.key]
    assert sorted(g.path.name for g in find_garbage(plan)) == sorted([theirs.key, orphan.key])
    aged = honoured_roots(str(tmp_path), older_than=time.time() + 1)
    assert aged.live == [] and "before the --older-than limit" in aged.dead[0][1]


def test_a_config_root_is_replaced_by_the_next_run_and_found_by_its_identity(tmp_path):
    from biorepro.store import roots

    work = tmp_path / "w"
    work.mkdir()
    identity = roots.config_identity(work, ["my.yaml"], {})
    roots.record_config(tmp_path, identity, [("frames", "k1", "a")])
    roots.record_config(tmp_path, identity, [("frames", "k2", "a")])
    assert [r.entries for r in roots.load(tmp_path)] == [(("frames", "k2", "a"),)]
    assert roots.find_config(tmp_path, identity).entries == (("frames", "k2", "a"),)
    assert roots.find_config(tmp_path, roots.config_identity(work, ["other.yaml"], {})) is None
    (tmp_path / roots.ROOTS / "broken.json").write_text("{")
    try:
        roots.load(tmp_path)
    except ValueError as err:
        assert "broken.json" in str(err)
    else:
        raise AssertionError("an unreadable root must stop gc")


def test_a_view_root_dies_when_the_view_shows_another_entry(tmp_path):
    from biorepro.store import roots
    from biorepro.store.view import VIEW_MARKER

    view = tmp_path / "results" / "demo"
    view.mkdir(parents=True)
    (view / VIEW_MARKER).write_text("/store/summary/k1\n")
    roots.record_view(tmp_path, view, "/store/summary/k1", [("summary", "k1", "s")])
    [root] = roots.load(tmp_path)
    assert root.dead_because() is None
    (view / VIEW_MARKER).write_text("/store/summary/k2\n")
    assert root.dead_because() == f"{view.resolve()} now shows another entry"


def test_status_compares_with_the_entry_this_configuration_used_last(tmp_path):
    """Another configuration's entry is nearer; the one this configuration used last is
    what its user changed."""
    theirs = frames(tmp_path, 64, "aaa")
    last = make_entry(str(tmp_path), "frames", {"size": 128, "n_frames": 7},
                      {"video": Source("/v/aaa.mov", "aaa")}, what="video /v/aaa.mov")
    for e in (theirs, last):
        publish(e)
    planned = make_entry(str(tmp_path), "frames", {"size": 64, "n_frames": 5},
                         {"video": Source("/v/aaa.mov", "aaa")}, what="video /v/aaa.mov")
    plan = plan_of(tmp_path, planned)
    [nearest] = explain(plan)
    assert nearest.nearest == theirs.key and not nearest.last_run
    [x] = explain(plan, {("frames", planned.what): last.key})
    assert x.nearest == last.key and x.last_run
    assert x.changes == [("params.n_frames", 7, 5), ("params.size", 128, 64)]
    assert "the entry this configuration used last" in format_explanations(plan, [x])

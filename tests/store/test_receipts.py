"""Early cutoff: keys over inputs' content, resolved by the job when planning cannot."""

import json
import os

import pytest

from biorepro.jobs import run
from biorepro.plan import make_entry
from biorepro.store import receipts
from biorepro.store.entries import content_digest, staging, write_provenance

SCORES = "video_id,subject,label,attack_type,frame,score\nv,s,bonafide,,0,0.5\n"
METRICS_FILES = {"metrics.json": "{}\n", "scores_devel.bob.csv": "x\n",
                 "scores_test.bob.csv": "x\n"}


def quiet(message):
    pass


def publish(entry, files):
    """Publish ``entry`` with ``files`` (name -> text); the entry as planned now."""
    with staging(entry.path) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text)
        write_provenance(tmp, entry.ingredients)
    return entry


def cross(store, target, scores=SCORES):
    """A published cross entry (built from no input) holding ``scores``."""
    e = make_entry(str(store), "cross", {"target": target}, {})
    return publish(e, {"scores_devel.csv": scores, "scores_test.csv": scores})


def metrics(store, scored):
    return make_entry(str(store), "metrics", {"level": "frame"}, {"scores": scored})


def test_a_derived_key_takes_its_inputs_content_not_their_keys(tmp_path):
    a, b = cross(tmp_path, "a"), cross(tmp_path, "b")
    other = cross(tmp_path, "c", SCORES.replace("0.5", "0.25"))
    assert len({a.key, b.key, other.key}) == 3
    assert content_digest(a.path) == content_digest(b.path) != content_digest(other.path)
    ma, mb, mo = (metrics(tmp_path, e) for e in (a, b, other))
    assert ma.key == mb.key != mo.key  # same content in, same entry out
    assert len({ma.recipe, mb.recipe, mo.recipe}) == 3  # the jobs are still told apart
    assert ma.ingredients["inputs"] == {"scores": content_digest(a.path)}


def test_a_key_waits_for_an_input_not_in_the_store_and_its_job_resolves_it(tmp_path):
    upstream = make_entry(str(tmp_path), "cross", {"target": "a"}, {})
    planned = metrics(tmp_path, upstream)  # its input's key is known, not its content
    assert planned.key is None and planned.path is None and planned.waits_for == ["cross"]
    assert planned.job()["inputs"] == {"scores": ["entry", upstream.path]}
    after = make_entry(str(tmp_path), "compare", {}, {"metrics": {"r": planned}})
    receipt = tmp_path / "receipts" / "metrics"
    job = after.job(lambda e: str(receipt))
    assert job["inputs"] == {"metrics": {"r": ["pending", str(receipt), planned.recipe]}}
    publish(upstream, {"scores_devel.csv": SCORES, "scores_test.csv": SCORES})
    built = receipts.resolve(planned.job())
    # A later plan (a plan is a snapshot of the store: its entries are made again).
    later = make_entry(str(tmp_path), "cross", {"target": "a"}, {})
    assert built["key"] == metrics(tmp_path, later).key
    with staging(built["out"]) as tmp:
        for name, text in METRICS_FILES.items():
            (tmp / name).write_text(text)
        write_provenance(tmp, built["ingredients"])
    with pytest.raises(receipts.StalePlan, match="cannot be read"):
        receipts.resolve(job)  # the metrics job has not written its receipt yet
    receipts.write(receipt, [receipts.outcome(built, built=True)])
    resolved = receipts.resolve(job)
    now = make_entry(str(tmp_path), "compare", {},
                     {"metrics": {"r": metrics(tmp_path, later)}})
    assert (resolved["key"], resolved["out"]) == (now.key, now.path)
    assert resolved["inputs"] == {"metrics": {"r": built["out"]}}
    assert resolved["entries"] == [built["out"]]
    assert resolved["ingredients"] == now.ingredients


def test_an_entry_already_in_the_store_is_cut_off_not_built(tmp_path, monkeypatch):
    before = metrics(tmp_path, cross(tmp_path, "a"))
    publish(before, METRICS_FILES)
    rebuilt = make_entry(str(tmp_path), "cross", {"target": "b"}, {})  # not built yet
    job = metrics(tmp_path, rebuilt).job(lambda e: str(tmp_path / "r"))
    cross(tmp_path, "b")  # rebuilt: same scores, another key
    receipts.write(tmp_path / "r", [receipts.outcome({**rebuilt.job(),
                                                      "planned_key": rebuilt.key}, built=True)])

    def no_build(*args):
        raise AssertionError("a cut-off entry was built")

    monkeypatch.setattr(run, "stage_module", lambda stage: type("M", (), {"build": no_build}))
    item = run.produce(job, quiet)
    assert item["outcome"] == "cut off" and item["key"] == before.key
    assert item["recipe"] != before.recipe
    receipts.write(tmp_path / "run" / "metrics" / item["recipe"], [item])
    (tmp_path / "run" / "extract_batches.json").write_text(json.dumps({"b": ["k"]}))
    (tmp_path / "run" / "stale_view").mkdir()
    (tmp_path / "run" / "stale_view" / "demo").write_text("")
    assert receipts.read_run(tmp_path / "run") == [item]


def test_a_key_known_at_planning_must_still_hold_when_the_job_runs(tmp_path):
    upstream = cross(tmp_path, "a")
    job = metrics(tmp_path, upstream).job()
    assert receipts.resolve(job)["key"] == job["key"]
    with pytest.raises(receipts.StalePlan, match="changed since the workflow was planned"):
        receipts.resolve({**job, "key": "0" * 24})


def test_a_run_s_outcomes_count_what_a_replanning_job_found_as_cut_off(tmp_path):
    """A cluster job plans again once its inputs exist: it finds in the store an entry
    whose key the main process did not know; a job of several records each entry it
    left in the store, so that the root keeps them even when a later one fails."""
    run_dir = tmp_path / "run"
    found = {"stage": "train", "recipe": "r1", "key": "k1", "path": "p", "what": "seed 0",
             "outcome": "found"}
    receipts.record_progress(run_dir / "train" / "batch", found)
    other = {**found, "recipe": "r2", "outcome": "built"}
    receipts.write(run_dir / "train" / "batch", [found, other])
    assert sorted(i["outcome"] for i in receipts.read_run(run_dir)) == ["built", "found"]
    said = {i["recipe"]: i["outcome"] for i in receipts.read_run(run_dir, {("train", "r1")})}
    assert said == {"r1": "cut off", "r2": "built"}
    newest = (run_dir / "train" / "batch").stat().st_mtime
    os.utime(run_dir, (0, 0))
    assert receipts.last_change(run_dir) == newest  # the folder is in use, not stale

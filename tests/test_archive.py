"""Archive and reproduce on fake store entries: the manifest holds the recorded digests,
the archive's bytes depend only on its inputs, the comparison names what moved."""

import copy
import io
import json
import os
import tarfile

import pytest

from biorepro import cli
from biorepro.archive import (
    MANIFEST,
    ArchiveError,
    Member,
    archive,
    entries_manifest,
    instructions,
    read_manifest,
    write_tar,
)
from biorepro.plan import Entry, ExperimentPlan, Plan
from biorepro.reproduce import (
    ReproduceError,
    compare,
    format_report,
    override_config,
    workdir_for,
)
from biorepro.store.entries import staging, write_provenance
from biorepro.store.keys import derive_key
from biorepro.store.stages import STAGES
from biorepro.store.view import publish_view


class _Zero(dict):
    def __missing__(self, _name):
        return 0


def fake_entry(store, stage, what, **params):
    """A published entry of ``stage`` holding every required file of its layout."""
    ingredients = {"stage": stage, "params": params}
    key = derive_key(ingredients)
    e = Entry(stage, key, key, str(store), ingredients, what=what)
    with staging(e.path) as tmp:
        for f in STAGES[stage].layout.files.values():
            if not f.required and f.each is None:
                continue
            for value in f.each[1] if f.each else [None]:
                rel = f.pattern.format_map(_Zero({f.each[0]: value} if f.each else {}))
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                (tmp / rel).write_text(f"{stage} {rel} {params}\n")
        if stage == "metrics":
            (tmp / "metrics.json").write_text(json.dumps(
                {"seed": params["seed"], "test_hter": 0.125, "target": float("nan")}))
        write_provenance(tmp, ingredients)
    return e


def fake_plan(store, results, *, publish_seed1=True):
    """One experiment ``exp``: a video, the split and tensors, two seeds at video level."""
    e = {s: fake_entry(store, s, s) for s in ("split", "tensors", "summary")}
    frames = fake_entry(store, "frames", "video v1.mov", video="v1")
    train = {("all", s): fake_entry(store, "train", f"seed {s}", seed=s) for s in (0, 1)}
    metrics = {("all", s, "video"): fake_entry(store, "metrics", f"seed {s}, video level",
                                               seed=s) for s in (0, 1)}
    if not publish_seed1:
        os.chmod(train["all", 1].path, 0o755)
        os.remove(os.path.join(train["all", 1].path, "provenance.json"))
    conf = {"results": str(results),
            "dataset": {"kind": "synthetic", "root": "data/synthetic", "manifest": None},
            "evaluate": {"cross": []}}
    exp = ExperimentPlan("exp", conf, {}, {"v1": frames}, {"all": e["split"]},
                         {"all": e["tensors"]}, train, metrics, e["summary"])
    return Plan(str(store), {"exp": exp})


@pytest.fixture
def published(tmp_path, monkeypatch):
    """A fake plan whose entries are all in the store, and its results view."""
    monkeypatch.chdir(tmp_path)
    plan = fake_plan(tmp_path / "store", tmp_path / "results")
    publish_view(plan.experiments["exp"].summary.path, tmp_path / "results" / "exp")
    return plan


def fake_project(root):
    """A project tree outside git: sources, a cache file to leave out, a lock file."""
    (root / "biorepro" / "__pycache__").mkdir(parents=True)
    (root / "biorepro" / "__init__.py").write_text('"""lib"""\n')
    (root / "biorepro" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (root / "rules").mkdir()
    (root / "rules" / "common.smk").write_text("# rules\n")
    (root / "Snakefile").write_text("include: 'rules/common.smk'\n")
    (root / "requirements.lock").write_text("PyYAML==6.0.2\n")
    (root / "notes.txt").write_text("not a source\n")
    return root


def test_manifest_lists_every_entry_with_its_recorded_digests(published):
    entries = entries_manifest(published)
    assert [e["stage"] for e in entries] == [
        "frames", "split", "tensors", "train", "train", "metrics", "metrics", "summary"]
    for item in entries:
        e = published.entry(item["stage"], item["key"])
        record = json.loads(open(os.path.join(e.path, "provenance.json")).read())
        assert item["files"] == record["files"] and item["what"] == e.what
    metrics = [e for e in entries if e["stage"] == "metrics"]
    assert {m["roles"][0] for m in metrics} == {f"exp: fold all seed {s} video" for s in (0, 1)}
    assert metrics[0]["metrics"]["target"] is None  # NaN: JSON has none
    assert entries[0]["roles"] == ["exp: video v1"]


def test_missing_entries_are_refused_saying_to_run_the_workflow(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = fake_plan(tmp_path / "store", tmp_path / "results", publish_seed1=False)
    with pytest.raises(ArchiveError, match=r"1 entries of the results are not in the store"
                                           r"(.|\n)*seed 1(.|\n)*run the workflow first"):
        entries_manifest(plan)


def test_damaged_entries_are_refused(published):
    e = published.experiments["exp"].split["all"]
    os.chmod(e.path, 0o755)
    os.chmod(os.path.join(e.path, "split.csv"), 0o644)
    with open(os.path.join(e.path, "split.csv"), "a") as f:
        f.write("more\n")
    with pytest.raises(ArchiveError, match=r"damaged(.|\n)*split.csv has(.|\n)*fsck --repair"):
        entries_manifest(published)


def test_same_inputs_archive_to_the_same_bytes(published, tmp_path):
    root = fake_project(tmp_path / "project")
    config = tmp_path / "my.yaml"
    config.write_text("experiment: exp\n")
    a, b = tmp_path / "a" / "paper.tar.gz", tmp_path / "b" / "paper.tar.gz"
    archive(published, [str(config)], a, root=root)
    for path in root.rglob("*"):  # other times and modes change nothing
        os.utime(path, (1e9, 1e9))
    archive(published, [str(config)], b, root=root)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes()[4:8] == b"\0\0\0\0"  # gzip header's mtime
    with tarfile.open(a) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
    assert names == sorted(names) and all(n.startswith("paper/") for n in names)
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
    assert {"paper/Snakefile", "paper/rules/common.smk", "paper/biorepro/__init__.py",
            "paper/configfiles/my.yaml", "paper/REPRODUCE.md", f"paper/{MANIFEST}",
            "paper/config.merged.yaml", "paper/requirements.lock",
            "paper/results/exp/summary.md", "paper/results/exp/STORE_ENTRY"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or "notes" in n or "store/" in n]
    prefix, manifest = read_manifest(a)
    assert prefix == "paper" and len(manifest["entries"]) == 8
    assert manifest["configfiles"] == [{"given": str(config), "archived": "configfiles/my.yaml"}]


def test_tar_members_are_sorted_with_fixed_owner_and_modes(tmp_path):
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o775)
    out = tmp_path / "x.tar.gz"
    write_tar([Member("b.txt", data=b"b"), Member("a/run.sh", source=script)], out, "x")
    with tarfile.open(out) as tar:
        assert [(m.name, m.mode) for m in tar] == [("x/a/run.sh", 0o755), ("x/b.txt", 0o644)]


def test_a_stale_results_view_is_refused(published, tmp_path):
    (tmp_path / "results" / "exp" / "STORE_ENTRY").write_text("/elsewhere\n")
    with pytest.raises(ArchiveError, match=r"results/exp/ does not show the entry"):
        archive(published, [], tmp_path / "p.tar.gz", root=fake_project(tmp_path / "proj"))


def test_what_is_no_archive_is_refused(tmp_path):
    text = tmp_path / "notes.tar.gz"
    text.write_text("hello")
    with pytest.raises(ArchiveError, match="is not a biorepro archive"):
        read_manifest(text)
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as tar:
        info = tarfile.TarInfo("other/README")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(ArchiveError, match=f"holds no {MANIFEST}"):
        read_manifest(other)


def test_cli_names_a_file_that_is_no_archive(tmp_path, capsys):
    text = tmp_path / "paper.tar.gz"
    text.write_text("hello")
    assert cli.main(["reproduce", str(text)]) == 2
    assert "is not a biorepro archive" in capsys.readouterr().err
    assert not (tmp_path / "paper-reproduced").exists()


def manifest_of(plan):
    return {"entries": entries_manifest(plan), "packages": {"numpy": "2.3.0"}}


def test_identical_manifests_reproduce(published):
    report = compare(manifest_of(published), manifest_of(published))
    assert report["all_identical"] and report["counts"]["identical"] == 8
    assert "All 8 entries reproduced bit for bit" in format_report(report, "t")


def test_a_moved_metric_is_reported_with_its_delta(published):
    archived = manifest_of(published)
    reproduced = copy.deepcopy(archived)
    m = next(e for e in reproduced["entries"] if e["roles"] == ["exp: fold all seed 1 video"])
    m["metrics"]["test_hter"] = 0.1875
    m["files"]["metrics.json"]["sha256"] = "f" * 64
    report = compare(archived, reproduced)
    assert not report["all_identical"]
    assert report["by_stage"]["metrics"] == {"identical": 1, "other key, same files": 0,
                                             "different": 1, "missing": 0}
    bad = next(r for r in report["entries"] if r["status"] == "different")
    assert bad["metrics_moved"] == {"test_hter": {"archived": 0.125, "reproduced": 0.1875,
                                                  "delta": 0.0625}}
    assert bad["differences"][0].startswith("metrics.json: SHA-256")
    text = format_report(report, "t")
    assert "1 of 8 entries did not reproduce" in text
    assert "test_hter: 0.125 archived, 0.1875 reproduced (+0.0625)" in text


def test_entries_under_other_keys_are_matched_by_role(published):
    archived = manifest_of(published)
    reproduced = copy.deepcopy(archived)
    reproduced["packages"]["numpy"] = "2.4.0"
    for e in reproduced["entries"]:
        e["key"] = e["key"][::-1]
    train = next(e for e in reproduced["entries"] if e["roles"] == ["exp: fold all seed 0"])
    train["files"]["model.safetensors"]["sha256"] = "0" * 64
    reproduced["entries"] = [e for e in reproduced["entries"] if e["stage"] != "summary"]
    report = compare(archived, reproduced)
    assert report["counts"] == {"identical": 0, "other key, same files": 6, "different": 1,
                                "missing": 1}
    assert report["packages"] == {"numpy": {"archived": "2.3.0", "reproduced": "2.4.0"}}
    bad = next(r for r in report["entries"] if r["status"] == "different")
    assert bad["role"] == "exp: fold all seed 0" and bad["reproduced_key"] == bad["key"][::-1]
    [diff] = bad["differences"]
    assert diff.startswith("model.safetensors: SHA-256 ")
    assert diff.endswith("… archived, 000000000000… reproduced")


def test_data_root_is_required_for_a_dataset_that_is_not_archived(tmp_path):
    manifest = {"experiments": {"paper": {"dataset": {"kind": "replay-attack",
                                                      "root": "/data/replay"}}}}
    with pytest.raises(ReproduceError, match=r"dataset\.root \(/data/replay\).*--data-root"):
        override_config(manifest, None)
    conf = override_config(manifest, tmp_path)
    assert conf["dataset"] == {"root": str(tmp_path.resolve())}
    assert conf["store"] == ".biorepro/store"
    synthetic = {"experiments": {"a": {"dataset": {"kind": "synthetic", "root": "data/s"}},
                                 "b": {"dataset": {"kind": "synthetic", "root": "/abs/s"}}}}
    conf = override_config(synthetic, None)
    assert conf["dataset"] == {"root": "data/s"}
    assert conf["experiments"] == {"b": {"dataset": {"root": "data/synthetic"}}}


def test_every_dataset_path_is_remapped_or_refused_by_name(tmp_path):
    f, c, t = (tmp_path / n for n in ("f", "c", "t"))
    for folder in (f, c, t):
        folder.mkdir()
    manifest = {"experiments": {"dg": {
        "dataset": {"kind": "multi", "sources": [
            {"domain": "F", "dataset": {"kind": "folders", "root": "/data/f"}},
            {"domain": "C", "dataset": {"kind": "casia-fasd", "root": "/data/c",
                                        "split_seed": 3}},
            {"domain": "S", "dataset": {"kind": "synthetic", "root": "/abs/s"}}]},
        "cross": [{"name": "far", "dataset": {"kind": "replay-attack", "root": "/data/t"}}]}}}
    with pytest.raises(ReproduceError, match=r"reads datasets that are not archived: pass "
                       r"--data-root ARCHIVED=YOURS for each: --data-root /data/f=\S+ "
                       r"--data-root /data/c=\S+ --data-root /data/t=\S+ .*"
                       r"config key dataset\.sources\[1\]\.dataset\.root"):
        override_config(manifest, None)
    with pytest.raises(ReproduceError, match=r"--data-root /x: the archive reads 3 datasets"):
        override_config(manifest, "/x")
    with pytest.raises(ReproduceError, match=r"--data-root /data/t=\S+ \("):
        override_config(manifest, [f"/data/f={f}", f"/data/c={c}"])
    with pytest.raises(ReproduceError, match=r"--data-root /nope: no such folder"):
        override_config(manifest, [f"/data/f={f}", f"/data/c={c}", "/data/t=/nope"])
    conf = override_config(manifest, [f"/data/f={f}", f"/data/c={c}", f"/data/t={t}"])
    assert conf["dataset"]["sources"] == [
        {"domain": "F", "dataset": {"kind": "folders", "root": str(f)}},
        {"domain": "C", "dataset": {"kind": "casia-fasd", "root": str(c), "split_seed": 3}},
        {"domain": "S", "dataset": {"kind": "synthetic", "root": "data/synthetic"}}]
    assert conf["evaluate"] == {"cross": [
        {"name": "far", "dataset": {"kind": "replay-attack", "root": str(t)}}]}
    assert manifest["experiments"]["dg"]["dataset"]["sources"][0]["dataset"]["root"] == "/data/f"
    text = instructions({**manifest, "configfiles": [], "entries": [], "python": "3.11.2"},
                        "dg.tar.gz")
    assert "--data-root /data/f=/path/to/your/copy --data-root /data/c=" in text
    assert "`evaluate.cross[0].dataset.root` (archived: `/data/t`)" in text
    assert "biorepro synth" in text
    nested = {"experiments": {"x": {"dataset": {"kind": "multi", "sources": [
        {"domain": "A", "dataset": {"kind": "folders", "root": "/data/f"}},
        {"domain": "B", "dataset": {"kind": "folders", "root": "/data/f=b"}}]}}}}
    conf = override_config(nested, [f"/data/f=b={c}", f"/data/f={f}"])
    assert [s["dataset"]["root"] for s in conf["dataset"]["sources"]] == [str(f), str(c)]


def test_the_working_folder_must_be_new_or_empty(tmp_path):
    paper = tmp_path / "paper.tar.gz"
    assert workdir_for(paper, None) == tmp_path / "paper-reproduced"
    (tmp_path / "paper-reproduced").mkdir()
    assert workdir_for(paper, None) == tmp_path / "paper-reproduced-2"
    assert workdir_for(paper, tmp_path / "paper-reproduced") == tmp_path / "paper-reproduced"
    (tmp_path / "paper-reproduced" / "x").write_text("")
    with pytest.raises(ReproduceError, match="--workdir .* is not empty"):
        workdir_for(paper, tmp_path / "paper-reproduced")

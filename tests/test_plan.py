"""The plan: each dependency declared once, run settings per experiment."""

import pytest

from biorepro import config as cfg
from biorepro.plan import build_plan
from tests.data.test_ingest import touch


@pytest.fixture
def folders(tmp_path):
    """A folders dataset of tiny files (planning hashes videos, never decodes them)."""
    root = tmp_path / "data"
    for split in ("train", "devel", "test"):
        for cls, n in (("bonafide", 2), ("print", 2)):
            for i in range(n):
                touch(root / split / cls / f"{split}{cls}{i}.mov", f"{split}/{cls}/{i}".encode())
    return root


def config(tmp_path, root, **extra):
    return {"dataset": {"kind": "folders", "root": str(root)}, "seeds": [0, 1],
            "store": str(tmp_path / "store"), "stat_cache": str(tmp_path / "stat.sqlite"),
            **extra}


def test_a_job_receives_exactly_what_its_key_declares(tmp_path, folders, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = build_plan(config(tmp_path, folders))
    exp = plan.experiments["demo"]
    for e in plan.entries():
        job = e.job
        assert job["ingredients"] == e.ingredients and job["out"] == e.path
        # the paths a job reads mirror its key's inputs, role for role
        keys, paths = e.ingredients["inputs"], job["inputs"]

        def same_shape(a, b):
            return (a.keys() == b.keys() and all(same_shape(a[k], b[k]) for k in a)
                    if isinstance(a, dict) else isinstance(b, str))

        assert same_shape(keys, paths), e.stage
        assert sorted(job["entries"]) == sorted({u.path for u in e.upstream})
    train = exp.train["all", 1]
    assert train.job["inputs"] == {"tensors": exp.tensors["all"].path}
    assert train.ingredients["inputs"] == {"tensors": exp.tensors["all"].key}
    frames = next(iter(exp.frames.values()))
    assert frames.ingredients["inputs"]["video"] == frames.deps["video"].digest
    assert frames.job["entries"] == []  # a source file, not a store entry


def test_annotation_crops_read_each_video_s_annotation_file(tmp_path, monkeypatch):
    """A manifest's annotations column: the file is a source of the video's frames entry;
    a video without one stops planning, naming it and the config key."""
    monkeypatch.chdir(tmp_path)
    rows = ["path,label,subject,split,attack_type,annotations"]
    for split in ("train", "devel", "test"):
        for label, kind in (("bonafide", ""), ("attack", "print")):
            name = f"{split}-{label}"
            touch(tmp_path / "d" / f"{name}.mov", name.encode())
            touch(tmp_path / "d" / f"{name}.csv", f"frame,x,y,width,height\n0,1,2,3,{split}"
                  .encode())
            rows.append(f"{name}.mov,{label},{name},{split},{kind},{name}.csv")
    (tmp_path / "d" / "m.csv").write_text("\n".join(rows) + "\n")
    dataset = {"kind": "manifest", "manifest": str(tmp_path / "d" / "m.csv")}
    conf = {**config(tmp_path, None), "dataset": dataset, "extract": {"crop": "annotations"}}
    frames = build_plan(conf).experiments["demo"].frames["train-attack"]
    assert frames.job["inputs"] == {"video": str(tmp_path / "d" / "train-attack.mov"),
                                    "annotations": str(tmp_path / "d" / "train-attack.csv")}
    (tmp_path / "d" / "m.csv").write_text("\n".join(r.rsplit(",", 1)[0] + ","
                                                    if i == 2 else r for i, r in enumerate(rows))
                                          + "\n")
    with pytest.raises(cfg.ConfigError, match=r"extract\.crop: annotations, but video "
                                              r".*train-attack\.mov has no annotation file"):
        build_plan(conf)


def test_run_settings_of_training_apply_per_experiment(tmp_path, folders, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = build_plan(config(tmp_path, folders, experiments={
        "gpu": {"train": {"device": "gpu", "gpu_wait_s": 5, "mem_mb": 9000, "threads": 4}}}))
    base, gpu = plan.experiments["demo"].train["all", 0], plan.experiments["gpu"].train["all", 0]
    assert base.runtime["device"] == "auto" and gpu.runtime["device"] == "gpu"
    assert (gpu.runtime["gpu_wait_s"], gpu.runtime["mem_mb"], gpu.runtime["threads"]) == (
        5, 9000, 4)
    assert "device" not in gpu.ingredients["params"]  # how it runs is not in the key...
    assert gpu.ingredients["params"]["threads"] == 4  # ... but threads shape the results


@pytest.mark.parametrize("override,key", [
    ({"extract": {"videos_per_job": 7}}, "extract.videos_per_job"),
    ({"results": "elsewhere"}, "results"),
    ({"store": "other-store"}, "store"),
    ({"verify": {"seeds": [1]}}, "verify"),
    ({"paper": {"title": "Another paper"}}, "paper"),
])
def test_a_variant_cannot_change_a_setting_of_the_whole_run(tmp_path, folders, monkeypatch,
                                                           override, key):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cfg.ConfigError, match=rf"'experiments\.v\.{key}'.*whole run"):
        build_plan(config(tmp_path, folders, experiments={"v": override}))


def test_operating_points_enter_the_metrics_key_only(tmp_path, folders, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = build_plan(config(tmp_path, folders, experiments={
        "op": {"evaluate": {"operating_points": {"fpr": [0.02]}}}}))
    base, op = plan.experiments["demo"], plan.experiments["op"]
    assert base.metrics["all", 0, "video"].ingredients["params"]["operating_points"] == {
        "apcer": [0.01, 0.05, 0.1], "bpcer": [0.01, 0.05, 0.1], "fpr": [0.01, 0.005, 0.001]}
    assert op.metrics["all", 0, "video"].ingredients["params"]["operating_points"]["fpr"] == [0.02]
    assert base.train["all", 0].key == op.train["all", 0].key
    for seed_level, entry in base.metrics.items():
        assert entry.key != op.metrics[seed_level].key


PUBLISHED = {"metric": "test_hter", "value": 0.1, "source": "Table 1"}


def test_published_numbers_enter_the_summary_key_of_their_experiment_only(tmp_path, folders,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    variants = {"v": {"train": {"epochs": 3}}}
    plain = build_plan(config(tmp_path, folders, experiments=variants))
    published = build_plan(config(tmp_path, folders, experiments=variants, paper={
        "title": "A paper", "results": [{**PUBLISHED, "experiment": "v"}]}))
    before, after = ({(e.stage, e.key) for e in p.entries()} for p in (plain, published))
    assert before - after == {("summary", plain.experiments["v"].summary.key)}
    assert after - before == {("summary", published.experiments["v"].summary.key)}
    params = published.experiments["v"].summary.ingredients["params"]["paper"]
    assert params["title"] == "A paper" and params["results"][0]["value"] == 0.1
    assert published.experiments["demo"].summary.ingredients["params"]["paper"] is None


def test_a_published_fold_the_dataset_lacks_is_a_planning_error(tmp_path, folders, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cfg.ConfigError, match=r"'paper\.results\[0\]\.fold': '2' is no fold"):
        build_plan(config(tmp_path, folders, paper={"results": [{**PUBLISHED, "fold": 2}]}))

"""The plan: each dependency declared once, run settings per experiment."""

import os
import re
from pathlib import Path

import pytest

from biorepro import config as cfg
from biorepro.plan import Source, build_plan
from biorepro.store.keys import KEY_PATTERN, tree_leaves
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

    def receipt(entry):
        return f"receipts/{entry.recipe}"

    for e in plan.entries():
        job = e.job(receipt)
        assert job["ingredients"] == {k: v for k, v in e.ingredients.items() if k != "inputs"}
        assert (job["out"], job["key"], job["recipe"]) == (e.path, e.key, e.recipe)
        # what a job reads mirrors its key's inputs, role for role (leaves: see receipts)
        assert job["inputs"].keys() == e.deps.keys()
        assert sorted(leaf[0] for leaf in tree_leaves(job["inputs"])) == sorted(
            "source" if isinstance(d, Source) else "entry" if d.key else "pending"
            for d in tree_leaves(e.deps))
    # nothing is in the store: only entries built from sources have their key
    frames = next(iter(exp.frames.values()))
    assert frames.key == frames.recipe and frames.path is not None
    assert frames.ingredients["inputs"]["video"] == frames.deps["video"].digest
    assert frames.job()["inputs"] == {"video": ["source", frames.deps["video"].path,
                                                frames.deps["video"].digest]}
    train, tensors = exp.train["all", 1], exp.tensors["all"]
    assert train.key is None and train.path is None and train.waits_for == ["tensors"]
    assert train.job(receipt)["inputs"] == {"tensors": ["pending", receipt(tensors),
                                                        tensors.recipe]}
    with pytest.raises(ValueError, match="not known before it is built"):
        train.job()


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
    assert {role: leaf[1] for role, leaf in frames.job()["inputs"].items()} == {
        "video": str(tmp_path / "d" / "train-attack.mov"),
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
    assert base.train["all", 0].recipe == op.train["all", 0].recipe
    for seed_level, entry in base.metrics.items():
        assert entry.recipe != op.metrics[seed_level].recipe


PUBLISHED = {"metric": "test_hter", "value": 0.1, "source": "Table 1"}


def test_published_numbers_enter_the_summary_key_of_their_experiment_only(tmp_path, folders,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    variants = {"v": {"train": {"epochs": 3}}}
    plain = build_plan(config(tmp_path, folders, experiments=variants))
    published = build_plan(config(tmp_path, folders, experiments=variants, paper={
        "title": "A paper", "results": [{**PUBLISHED, "experiment": "v"}]}))
    before, after = ({(e.stage, e.recipe) for e in p.entries()} for p in (plain, published))
    assert before - after == {("summary", plain.experiments["v"].summary.recipe)}
    assert after - before == {("summary", published.experiments["v"].summary.recipe)}
    params = published.experiments["v"].summary.ingredients["params"]["paper"]
    assert params["title"] == "A paper" and params["results"][0]["value"] == 0.1
    assert published.experiments["demo"].summary.ingredients["params"]["paper"] is None


def test_a_published_fold_the_dataset_lacks_is_a_planning_error(tmp_path, folders, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cfg.ConfigError, match=r"'paper\.results\[0\]\.fold': '2' is no fold"):
        build_plan(config(tmp_path, folders, paper={"results": [{**PUBLISHED, "fold": 2}]}))


def test_randomness_designs_key_each_run_by_its_seeds(tmp_path, folders, monkeypatch):
    """A run's seeds, not its label, are its training key: the baseline of a design with
    seeds all 0 is plain seed 0's entry; every other run differs in one source's seed."""
    monkeypatch.chdir(tmp_path)
    design = {"init": [0, 1, 2], "order": [0, 5], "noise": [0, 7]}
    plan = build_plan(config(tmp_path, folders, experiments={
        "oat": {"randomness": design},
        "crossed": {"randomness": {**design, "design": "crossed", "repeats": 2}}}))
    plain, oat, crossed = (plan.experiments[n] for n in ("demo", "oat", "crossed"))
    assert [s for _, s in oat.train] == ["i0-o0-n0", "i1-o0-n0", "i2-o0-n0", "i0-o5-n0",
                                         "i0-o0-n7"]
    assert oat.train["all", "i0-o0-n0"].recipe == plain.train["all", 0].recipe
    seeds = {s: e.ingredients["params"]["seeds"] for (_, s), e in oat.train.items()}
    assert seeds["i0-o5-n0"] == {"init": 0, "order": 5, "noise": 0, "replicate": 0}
    assert len({e.recipe for e in oat.train.values()}) == 5
    assert len(crossed.train) == 3 * 2 * 2 * 2 and ("all", "i2-o5-n7-r1") in crossed.train
    metrics = crossed.metrics["all", "i2-o5-n7-r1", "video"].ingredients["params"]
    assert metrics["seed"] == "i2-o5-n7-r1" and metrics["sources"] == {
        "init": 2, "order": 5, "noise": 7, "split": None, "replicate": 1}
    assert crossed.summary.ingredients["params"]["design"] == "crossed"
    assert plain.summary.ingredients["params"]["design"] is None


def test_split_seeds_make_their_own_splits_and_are_refused_where_splits_are_fixed(
        tmp_path, folders, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cfg.ConfigError, match="'randomness.split'.*fixed"):
        build_plan(config(tmp_path, folders, randomness={"split": [1, 2]}))  # split folders
    root = tmp_path / "flat"
    for cls in ("bonafide", "print"):
        for i in range(12):
            touch(root / cls / f"s{i}_{cls}.mov", f"{cls}{i}".encode())
    flat = {"dataset": {"kind": "folders", "root": str(root), "subject_regex": r"^(s\d+)_"}}
    plan = build_plan({**config(tmp_path, root), **flat, "randomness": {"split": [3, 4]}})
    exp = plan.experiments["demo"]
    split_of = {run: e.deps["tensors"].deps["split"] for (_, run), e in exp.train.items()}
    assert set(split_of) == {"i0-o0-n0-s3", "i0-o0-n0-s4"}
    assert split_of["i0-o0-n0-s3"].recipe != split_of["i0-o0-n0-s4"].recipe
    assert {splits["all"].recipe for splits, _ in exp.split_seeds.values()} == {
        e.recipe for e in split_of.values()}


def test_training_jobs_group_runs_of_an_experiment(tmp_path, folders, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = build_plan(config(tmp_path, folders, seeds=5, train={"seeds_per_process": 2},
                             experiments={"alone": {"train": {"seeds_per_process": 1,
                                                              "learning_rate": 0.01}}}))
    jobs = plan.jobs({})
    assert jobs["train"] == plan.train_batches
    sizes = [len(b) for b in plan.train_batches.values()]
    assert sizes == [2, 2, 1, 1, 1, 1, 1, 1]
    job_of = {e.recipe: name for name, batch in jobs["train"].items() for e in batch}
    demo = plan.experiments["demo"].train
    first = job_of[demo["all", 0].recipe]
    assert job_of[demo["all", 1].recipe] == first != demo["all", 0].recipe
    assert re.fullmatch(KEY_PATTERN, first)
    lone = plan.experiments["alone"].train["all", 3]
    assert job_of[lone.recipe] == lone.recipe  # a job of one is named by its entry
    # every other stage: a job per entry, named by its recipe (extraction: as batched)
    assert jobs["metrics"] == {e.recipe: [e] for e in plan.entries("metrics")}
    assert jobs["frames"] == {}
    batches = plan.extract_batches(2)
    assert sum(map(len, batches.values())) == len(plan.missing("frames"))
    assert all(re.fullmatch(KEY_PATTERN, name) for name in batches)
    assert {n: [e.recipe for e in b] for n, b in plan.jobs(batches)["frames"].items()} == batches
    assert "seeds_per_process" not in demo["all", 0].ingredients["params"]


def test_training_keys_name_only_their_own_backends_versions():
    """The backend's versions are in the training params; the code's versions leave
    every backend's out (a TensorFlow run's key does not move with JAX's version)."""
    from biorepro.plan import stage_code

    assert "keras" in stage_code("train")["versions"]
    assert not {"tensorflow", "jax", "jaxlib"} & set(stage_code("train")["versions"])
    assert "tensorflow" in stage_code("frames")["versions"]  # mtcnn's crop runs on it


def test_each_stage_s_key_takes_the_config_keys_the_schema_says_it_feeds(tmp_path, folders,
                                                                         monkeypatch):
    """``x-feeds`` in the schema decides which keys of a section enter a stage's key."""
    monkeypatch.chdir(tmp_path)
    conf = config(tmp_path, folders)
    exp = build_plan(conf).experiments["demo"]
    fed = cfg.feeds()

    def feeding(section, stage):
        return {k for k in cfg.schema()["properties"][section]["properties"]
                if stage in fed[f"{section}.{k}"]}

    frames = next(iter(exp.frames.values())).ingredients["params"]
    assert set(frames) == feeding("extract", "frames")  # detector: with a face crop only
    assert "videos_per_job" not in frames
    assert set(exp.tensors["all"].ingredients["params"]) == feeding("tensors", "tensors")
    train = exp.train["all", 0].ingredients["params"]
    assert feeding("train", "train") <= set(train)
    assert not set(train) & set(cfg.keys_marked("x-runtime")) and "device" not in train
    assert set(exp.summary.ingredients["params"]["stats"]) == feeding("stats", "summary")


def test_a_cross_key_holds_the_model_code_that_rebuilds_the_model(tmp_path, folders,
                                                                  monkeypatch):
    """The cross job rebuilds the trained model with the model's code (a user file's
    custom layers): its key names that code, not only the train entry's files."""
    monkeypatch.chdir(tmp_path)
    target = {"name": "t", "dataset": {"kind": "folders", "root": str(folders)}}
    exp = build_plan(config(tmp_path, folders, evaluate={"cross": [target]})).experiments["demo"]
    cross = next(iter(exp.cross.values()))
    assert cross.ingredients["params"]["model"] == exp.train["all", 0].ingredients["params"][
        "model"]


def test_an_unreadable_record_leaves_keys_after_it_unknown_and_is_damage(tmp_path, folders,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = build_plan(config(tmp_path, folders))
    frames = next(iter(plan.experiments["demo"].frames.values()))
    Path(frames.path).mkdir(parents=True)
    (Path(frames.path) / "provenance.json").write_text("{not json")
    again = build_plan(config(tmp_path, folders))
    assert again.experiments["demo"].split["all"].key is None
    assert [c.path for c in again.damaged()] == [os.path.normpath(frames.path)]


def test_an_entry_is_built_only_from_what_its_stage_declares(tmp_path):
    from biorepro.plan import make_entry

    tensors = make_entry(str(tmp_path), "tensors", {"image_size": 8}, {})
    make_entry(str(tmp_path), "train", {}, {"tensors": tensors})
    with pytest.raises(ValueError, match="a train entry built from split"):
        make_entry(str(tmp_path), "train", {}, {"split": tensors})
    with pytest.raises(ValueError, match=r"built from tensors \(tensors\)"):
        make_entry(str(tmp_path), "split", {}, {"tensors": tensors})


def test_a_folder_of_images_is_read_with_image_extensions(tmp_path):
    from biorepro.plan import dataset_records

    for split in ("train", "devel", "test"):
        for cls in ("bonafide", "print"):
            for i in range(2):
                touch(tmp_path / "faces" / split / cls / f"{split}{cls}{i}.JPG")
        touch(tmp_path / "faces" / split / "bonafide" / "clip.mov")  # not an image
    conf = cfg.validate({"dataset": {"kind": "images", "root": str(tmp_path / "faces")}})
    records = dataset_records(conf)["all"]
    assert len(records) == 12 and all(r.path.endswith(".JPG") for r in records)
    assert {r.attack_type for r in records if r.label == "attack"} == {"print"}


def test_annotation_format_comes_from_the_card_and_enters_frames_keys(tmp_path):
    from biorepro.plan import frames_params

    def params(kind, crop="annotations"):
        return frames_params(cfg.validate({"dataset": {"kind": kind},
                                           "extract": {"crop": crop}}), None)

    assert params("celeba-spoof")["annotation_format"] == "celeba-spoof"
    assert params("replay-attack")["annotation_format"] == "frames"
    assert params("folders")["annotation_format"] == "frames"
    assert "annotation_format" not in params("celeba-spoof", crop="center")


def test_a_benchmark_plans_one_split_per_leg_over_shared_frames(tmp_path, monkeypatch):
    from tests.data.test_protocols import casia_tree, msu_tree, oulu_tree, replay_files

    monkeypatch.chdir(tmp_path)
    roots = {"O": str(oulu_tree(tmp_path / "oulu", phones=(1,), sessions=(1,))),
             "C": str(casia_tree(tmp_path / "casia", folders=(("train", 2), ("test", 1)))),
             "I": str(replay_files(tmp_path / "replay")),
             "M": str(msu_tree(tmp_path / "msu"))}
    conf = config(tmp_path, "", train={"balance": "label×domain"})
    conf["dataset"] = {"kind": "ocim", "roots": roots, "folds": ["OCI-M", "OMI-C"]}
    exp = build_plan(conf).experiments["demo"]
    assert list(exp.split) == ["OCI-M", "OMI-C"]
    assert exp.summary.ingredients["params"]["legs"] == {"OCI-M": "O&C&I→M",
                                                         "OMI-C": "O&M&I→C"}
    videos = exp.split["OCI-M"].ingredients["params"]["videos"]
    assert {v["domain"] for v in videos.values()} == {"O", "C", "I", "M"}
    both = set(exp.split["OCI-M"].deps["frames"]) & set(exp.split["OMI-C"].deps["frames"])
    assert both and all(exp.split["OCI-M"].deps["frames"][v] is exp.split["OMI-C"].deps[
        "frames"][v] for v in both)  # a video's frames entry is one, whatever its legs
    assert len(exp.train) == 4  # (leg, seed)


def test_domain_balance_needs_several_domains(tmp_path, folders, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cfg.ConfigError, match=r"'train\.balance': 'domain'.*one domain"):
        build_plan(config(tmp_path, folders, train={"balance": "domain"}))


def test_multi_trains_on_the_union_of_its_sources_with_their_own_splits(tmp_path, folders):
    from biorepro.plan import dataset_records, frames_params
    from tests.data.test_protocols import casia_tree, oulu_tree

    casia = casia_tree(tmp_path / "casia")
    conf = cfg.validate({"dataset": {"kind": "multi", "sources": [
        {"domain": "F", "dataset": {"kind": "folders", "root": str(folders)}},
        {"domain": "C", "dataset": {"kind": "casia-fasd", "root": str(casia),
                                    "split_seed": 3}}]},
        "train": {"balance": "domain"}})
    records = dataset_records(conf)["all"]
    assert {r.domain for r in records} == {"F", "C"} and len(records) == 12 + 36
    casia_devel = {r.subject for r in records if r.domain == "C" and r.split == "devel"}
    assert len(casia_devel) == 1 and casia_devel <= {"C:train1", "C:train2", "C:train3",
                                                     "C:train4"}  # carved, as its card says
    assert all(r.video_id.startswith(f"{r.domain}--") for r in records)

    def refused(sources, match, **extract):
        bad = cfg.validate({"dataset": {"kind": "multi", "sources": sources},
                            "extract": extract})
        with pytest.raises(cfg.ConfigError, match=match):
            frames_params(bad, None) if extract else dataset_records(bad)

    folder = {"kind": "folders", "root": str(folders)}
    refused([{"domain": "F", "dataset": folder}], r"'dataset\.sources'.*two or more")
    refused([{"domain": "F", "dataset": folder}] * 2, r"a domain of its own.*\['F', 'F'\]")
    oulu = oulu_tree(tmp_path / "oulu", phones=(1, 2))
    refused([{"domain": "F", "dataset": folder},
             {"domain": "O", "dataset": {"kind": "oulu-npu", "root": str(oulu),
                                         "protocol": "Protocol_3", "folds": [1, 2]}}],
            r"'dataset\.sources\[1\]\.dataset\.folds': the source O has folds 1, 2")
    refused([{"domain": "F", "dataset": folder}, {"domain": "X", "dataset": {"kind": "ocim"}}],
            r"'dataset\.sources\[1\]\.dataset\.kind': a source is one dataset")
    refused([{"domain": "F", "dataset": {"kind": "foo"}}, {"domain": "G", "dataset": folder}],
            r"'dataset\.sources\[0\]\.dataset\.kind'")
    refused([{"domain": "S", "dataset": {"kind": "celeba-spoof"}},
             {"domain": "F", "dataset": folder}],
            r"annotation files differ in format \(S: celeba-spoof, F: frames\)",
            crop="annotations")


def test_split_seeds_of_multi_reseed_each_source(tmp_path, folders, monkeypatch):
    from tests.data.test_protocols import casia_tree, replay_files

    monkeypatch.chdir(tmp_path)
    folder = {"domain": "F", "dataset": {"kind": "folders", "root": str(folders)}}
    casia = {"domain": "C", "dataset": {"kind": "casia-fasd",
                                        "root": str(casia_tree(tmp_path / "casia"))}}
    plan = build_plan({**config(tmp_path, ""), "randomness": {"split": [3, 4]},
                       "dataset": {"kind": "multi", "sources": [folder, casia]}})
    exp = plan.experiments["demo"]
    devel = {seed: {v for v, r in splits["all"].ingredients["params"]["videos"].items()
                    if r["split"] == "devel" and r["domain"] == "C"}
             for seed, (splits, _) in exp.split_seeds.items()}
    assert set(devel) == {3, 4} and devel[3] != devel[4]  # CASIA's devel carved by the seed
    replay = {"domain": "I", "dataset": {"kind": "replay-attack",
                                         "root": str(replay_files(tmp_path / "replay"))}}
    with pytest.raises(cfg.ConfigError, match=r"'randomness\.split'.*no source carves"):
        build_plan({**config(tmp_path, ""), "randomness": {"split": [3, 4]},
                    "dataset": {"kind": "multi", "sources": [folder, replay]}})


def test_errors_reading_a_source_or_a_cross_target_name_its_config_key(tmp_path, folders,
                                                                         monkeypatch):
    from biorepro.data.ingest import DatasetError
    from biorepro.synth.dataset import NotGeneratedError

    monkeypatch.chdir(tmp_path)
    folder = {"domain": "F", "dataset": {"kind": "folders", "root": str(folders)}}
    missing = {"domain": "G", "dataset": {"kind": "folders", "root": str(tmp_path / "nope")}}
    with pytest.raises(DatasetError, match=r"^source G: dataset\.sources\[1\]\.dataset\.root"):
        build_plan({**config(tmp_path, ""),
                    "dataset": {"kind": "multi", "sources": [folder, missing]}})
    synthetic = {"domain": "S", "dataset": {"kind": "synthetic", "root": str(tmp_path / "s")}}
    with pytest.raises(NotGeneratedError,
                       match=r"'dataset\.sources\[1\]\.dataset\.synthetic'.*biorepro.* synth"):
        build_plan({**config(tmp_path, ""),
                    "dataset": {"kind": "multi", "sources": [folder, synthetic]}})
    with pytest.raises(DatasetError,
                       match=r"^cross target far: evaluate\.cross\[0\]\.dataset\.root"):
        build_plan(config(tmp_path, folders, evaluate={"cross": [
            {"name": "far", "dataset": missing["dataset"]}]}))


def test_a_benchmark_leg_is_a_cross_target_its_test_split_the_target_domain(
        tmp_path, folders, monkeypatch):
    from tests.data.test_protocols import casia_tree, msu_tree, oulu_tree, replay_files

    monkeypatch.chdir(tmp_path)
    roots = {"O": str(oulu_tree(tmp_path / "oulu", phones=(1,), sessions=(1,))),
             "C": str(casia_tree(tmp_path / "casia", folders=(("train", 2), ("test", 1)))),
             "I": str(replay_files(tmp_path / "replay")),
             "M": str(msu_tree(tmp_path / "msu"))}
    leg = {"name": "to-msu", "dataset": {"kind": "ocim", "roots": roots, "folds": ["OCI-M"]}}
    exp = build_plan(config(tmp_path, folders, evaluate={"cross": [leg]})).experiments["demo"]
    split = exp.cross["to-msu", "all", 0].deps["tensors"].deps["split"]
    videos = split.ingredients["params"]["videos"].values()
    assert {v["domain"] for v in videos if v["split"] == "test"} == {"M"}
    assert {v["domain"] for v in videos if v["split"] == "devel"} == {"O", "I"}
    assert len(exp.cross) == 2  # one leg × two seeds
    every = {**leg, "dataset": {**leg["dataset"], "folds": None}}
    with pytest.raises(cfg.ConfigError, match=r"'evaluate\.cross\[0\]\.dataset\.folds': the "
                                              r"target to-msu has folds OCI-M, OMI-C, "):
        build_plan(config(tmp_path, folders, evaluate={"cross": [every]}))

import re
from pathlib import Path

import pytest
import yaml

from biorepro import config as cfg

REPO = Path(__file__).resolve().parent.parent


def test_defaults_fill_and_validate():
    c = cfg.validate({})
    assert c["extract"]["n_frames"] == 10 and c["dataset"]["kind"] == "synthetic"
    assert c["seeds"] == [0, 1, 2] and c["randomness"] is None


@pytest.mark.parametrize("bad,message", [
    ({"extract": {"crop": "eyes"}},
     "'extract.crop': 'eyes' is not allowed; allowed values: center, face"),
    ({"train": {"epochs": 0}}, "'train.epochs'"),
    ({"tensors": {"image_size": "big"}}, "'tensors.image_size'"),
    ({"trian": {}}, "allowed keys:"),
    ({"extract": {"n_frames": 5, "fps": 2.0}}, "set exactly one"),
    ({"dataset": {"kind": "manifest"}}, "'dataset.manifest': required"),
    ({"dataset": {"split_fractions": {"train": 0.5, "devel": 0.5, "test": 0.5}}}, "sum to 1"),
    ({"evaluate": {"criterion": "far"}}, "'evaluate.target'"),
    ({"seeds": [1, 1]}, "'seeds'"),
    ({"train": {"epochs": "2.5"}}, "'train.epochs': 2.5 is not an integer"),
    ({"experiment": 3}, "'experiment': 3 is not a string"),
])
def test_invalid_values_name_the_key(bad, message):
    with pytest.raises(cfg.ConfigError, match=None) as err:
        cfg.validate(bad)
    assert message in str(err.value)


SEEDS_EXPECTED = "(expected: a count n (1 to 1000) meaning seeds 0..n-1, or a list of"


@pytest.mark.parametrize("seeds,message", [
    ([0, 3, 1, 3], "'seeds': duplicate value 3 "),
    (["0", "0", 1, 1], "'seeds': duplicate values 0, 1 "),
    ([1, -2], "'seeds[1]': -2 is negative "),
    (["-1"], "'seeds[0]': -1 is negative "),
    ([], "'seeds': the list is empty "),
    ([0, "one"], "'seeds[1]': 'one' is not an integer "),
    ([0.5], "'seeds[0]': 0.5 is not an integer "),
    (0, "'seeds': must be >= 1, got 0 "),
    ("all", "'seeds': 'all' is neither a list nor an integer "),
])
def test_seed_errors_say_what_is_wrong(seeds, message):
    with pytest.raises(cfg.ConfigError) as err:
        cfg.validate({"seeds": seeds})
    assert f"config key {message}{SEEDS_EXPECTED}" in str(err.value)
    assert "not valid under any" not in str(err.value)


def test_any_of_errors_are_readable(monkeypatch):
    node = {"anyOf": [{"type": "integer", "minimum": 2}, {"enum": ["auto"]}]}
    monkeypatch.setattr(cfg, "schema", lambda: {"properties": {"x": node}})
    with pytest.raises(cfg.ConfigError, match=r"'x': must be >= 2, got 1\n"
                                              r"  config key 'x': 1 is not allowed; allowed "
                                              "values: auto$"):
        cfg.validate({"x": 1})


@pytest.mark.parametrize("given,read", [
    ({"train": {"learning_rate": "1e-4"}}, {"train": {"learning_rate": 1e-4}}),
    ({"train": {"learning_rate": ".5E-2", "epochs": "+7", "gpu_wait_s": "60"}},
     {"train": {"learning_rate": 0.005, "epochs": 7, "gpu_wait_s": 60}}),
    ({"seeds": ["0", "1", "2"]}, {"seeds": [0, 1, 2]}),
    ({"seeds": "4"}, {"seeds": 4}),
    ({"seeds": [2.0], "train": {"epochs": "1e1", "finetune": {"head_epochs": "2.0",
                                                              "unfreeze": "12"}}},
     {"seeds": [2], "train": {"epochs": 10, "finetune": {"head_epochs": 2, "unfreeze": 12,
                                                         "learning_rate": 1e-5}}}),
    ({"train": {"finetune": {"unfreeze": "all"}, "augment": {"flip": "true"}}},
     {"train": {"finetune": {"unfreeze": "all", "head_epochs": 5, "learning_rate": 1e-5},
                "augment": {"flip": True, "rotation": 0, "zoom": 0, "translation": 0,
                            "brightness": 0, "contrast": 0}}}),
    ({"extract": {"n_frames": "null", "fps": "2.5"}}, {"extract": {"n_frames": None, "fps": 2.5}}),
    ({"dataset": {"allow_outside_root": "true"}}, {"dataset": {"allow_outside_root": True}}),
    # strings stay strings where the schema accepts a string
    ({"experiment": "1e3", "dataset": {"manifest": "null", "root": "12"}},
     {"experiment": "1e3", "dataset": {"manifest": "null", "root": "12"}}),
])
def test_numbers_given_as_strings_are_read_as_numbers(given, read):
    """As PyYAML reads ``1e-4`` and as ``snakemake --config`` passes nested values."""
    out = cfg.validate(given)
    for key, expected in read.items():
        got = {k: out[key][k] for k in expected} if isinstance(expected, dict) else out[key]
        assert repr(got) == repr(expected)  # repr tells 2 from 2.0 and True from "true"


def test_snakemake_config_values_are_read_as_numbers():
    """What ``snakemake --config`` hands over (its own parser) validates as numbers."""
    from snakemake.cli import parse_config

    given = parse_config(["seeds=[0,1]", 'train={"learning_rate": 1e-4, "epochs": 3}',
                          "stats={n_boot: 2000}"])
    assert given["seeds"] == ["0", "1"] and given["train"]["learning_rate"] == "1e-4"
    out = cfg.validate(given)
    assert out["seeds"] == [0, 1] and out["stats"]["n_boot"] == 2000
    assert out["train"]["learning_rate"] == 1e-4 and out["train"]["epochs"] == 3


def test_yaml_exponents_are_numbers(tmp_path):
    """PyYAML (YAML 1.1) reads ``1e-4`` as a string; the configuration reads a number."""
    (tmp_path / "c.yaml").write_text("train:\n  learning_rate: 1e-4\n")
    loaded = cfg.load([tmp_path / "c.yaml"])
    assert loaded["train"]["learning_rate"] == "1e-4"
    assert cfg.validate(loaded)["train"]["learning_rate"] == 1e-4


def test_experiments_are_overrides_of_the_base():
    exps = cfg.experiments({"experiment": "base", "experiments": {
        "big": {"tensors": {"image_size": 96}}}})
    assert list(exps) == ["base", "big"]
    assert exps["big"]["tensors"]["image_size"] == 96
    assert exps["big"]["extract"] == exps["base"]["extract"]
    with pytest.raises(cfg.ConfigError, match=r"(?s)in experiment 'bad'.*train.epochs"):
        cfg.experiments({"experiments": {"bad": {"train": {"epochs": -1}}}})


def test_load_merges_files_in_order(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump({"extract": {"n_frames": 10, "size": 64}}))
    b.write_text(yaml.safe_dump({"extract": {"size": 32}}))
    assert cfg.load([a, b])["extract"] == {"n_frames": 10, "size": 32}
    (tmp_path / "bad.yaml").write_text("a: [")
    with pytest.raises(cfg.ConfigError, match="bad.yaml"):
        cfg.load([tmp_path / "bad.yaml"])


def test_shipped_configs_are_valid():
    base = cfg.load(["config/config.yaml"])
    cfg.validate(base)
    cfg.validate(cfg.load(["config/config.yaml", "config/tiny.yaml"]))


def test_every_schema_key_is_documented():
    readme = open("config/README.md").read()
    missing = [k for k in cfg.feeds() if f"`{k}`" not in readme and "[]" not in k]
    assert not missing, f"undocumented config keys: {missing}"


def test_a_valid_configuration_is_validated_once(tmp_path, monkeypatch):
    import sys

    monkeypatch.chdir(tmp_path)
    first = cfg.validate({"seeds": 2})
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # the validator is not needed again
    assert cfg.validate({"seeds": 2}) == first
    with pytest.raises(ImportError):  # another configuration is validated
        cfg.validate({"seeds": 3})


def paper_experiments(*rows, **base):
    config = {"paper": {"results": list(rows)}, "evaluate": {"levels": ["video"]}, **base}
    return cfg.experiments(config)


def published(**fields):
    return {"metric": "test_hter", "value": 0.1, "source": "Table 2", **fields}


def test_published_rows_are_normalised_and_grouped_by_experiment():
    exps = paper_experiments(published(value=2.4, std=0.5, unit="percent", fold=1),
                             published(experiment="v"), experiments={"v": {"seeds": 5}})
    rows = cfg.paper_results(exps)
    (i, first), = rows["demo"]
    assert i == 0 and "unit" not in first and first["fold"] == "1"
    assert (first["value"], first["std"]) == pytest.approx((0.024, 0.005))
    assert [i for i, _ in rows["v"]] == [1]
    params = cfg.paper_params(exps["demo"]["paper"], rows["demo"], ["1", "2"])
    assert params == {"title": None, "source": None, "results": [first]}
    assert cfg.paper_params(exps["demo"]["paper"], [], ["all"]) is None


@pytest.mark.parametrize("bad,message", [
    (published(experiment="nope"), r"'paper.results\[1\].experiment': 'nope' is no experiment"),
    (published(level="frame"), r"'paper.results\[1\].level': experiment 'demo' evaluates "
                               r"the video level only"),
    (published(target="casia"), r"'paper.results\[1\].target': 'casia' is no cross target"),
    (published(value=2.4), r"'paper.results\[1\].value': 2.4 is outside \[0, 1\] but "
                           r"test_hter is a rate; .* unit: percent"),
])
def test_unknown_published_names_are_planning_errors_naming_the_key(bad, message):
    with pytest.raises(cfg.ConfigError, match=message):
        cfg.paper_results(paper_experiments(published(), bad))


@pytest.mark.parametrize("fold,folds,message", [
    ("C", ["A", "B"], r"'paper.results\[0\].fold': 'C' is no fold of experiment 'demo' "
                      r"\(folds: A, B\)"),
    ("across folds", ["all"], r"'paper.results\[0\].fold': experiment 'demo' has no folds"),
])
def test_unknown_published_folds_are_planning_errors_naming_the_key(fold, folds, message):
    rows = cfg.paper_results(paper_experiments(published(fold=fold)))["demo"]
    with pytest.raises(cfg.ConfigError, match=message):
        cfg.paper_params({"title": None, "source": None}, rows, folds)


@pytest.mark.parametrize("bad,key", [
    ({"metric": "test_hter", "value": 0.1}, "paper.results[0]"),  # no source
    (published(unit="permille"), "paper.results[0].unit"),
    (published(value="high"), "paper.results[0].value"),
    (published(std=-0.1), "paper.results[0].std"),
])
def test_the_structure_of_published_rows_is_validated(bad, key):
    with pytest.raises(cfg.ConfigError, match=re.escape(f"config key '{key}'")):
        cfg.validate({"paper": {"results": [bad]}})


def test_a_file_switching_the_model_starts_from_its_own_parameters(tmp_path):
    """The README's own-model example over the default config: the default's
    xception_small parameters do not follow the switch to another model."""
    own = tmp_path / "own.yaml"
    own.write_text("train: {model: models/my_net.py:build, model_params: {width: 32}}\n")
    base = tmp_path / "base.yaml"
    base.write_text("train: {model: xception_small, model_params: {widths: [8, 16]}}\n")
    merged = cfg.load([base, own])
    assert merged["train"]["model_params"] == {"width": 32}
    switch_only = tmp_path / "switch.yaml"
    switch_only.write_text("train: {model: mobilenet_v2}\n")
    assert "model_params" not in cfg.load([base, switch_only])["train"]
    same = tmp_path / "same.yaml"
    same.write_text("train: {model: xception_small, epochs: 3}\n")
    assert cfg.load([base, same])["train"]["model_params"] == {"widths": [8, 16]}
    assert cfg.load([base], {"train": {"model": "resnet50"}})["train"] == {"model": "resnet50"}


def test_bounds_are_said_as_the_config_docs_say_them():
    with pytest.raises(cfg.ConfigError, match=r"'train.learning_rate': must be > 0, got -0.001"):
        cfg.validate({"train": {"learning_rate": -0.001}})


def test_the_docs_feeds_column_is_the_schema_s():
    """config/README.md's "feeds" column says, for every key it lists, the stages the
    schema's ``x-feeds`` give it ("—" for none; a section whose keys differ may leave it
    empty); x-runtime keys feed none; and the plan's lists are the schema's marks."""
    from biorepro.plan import RUN_KEYS, TRAIN_RUNTIME_KEYS

    rows = [line.split("|") for line in (REPO / "config" / "README.md").read_text()
            .splitlines() if line.startswith("| `")]
    documented = {cells[1].strip().strip("`"): cells[-2].strip() for cells in rows}
    schema = cfg.feeds()
    for key, said in documented.items():
        if said == "" and any(k.startswith(f"{key}.") for k in schema):
            continue  # a section: see its keys
        assert said == (", ".join(schema[key]) or "—"), (key, said, schema[key])
    for key in cfg.keys_marked("x-runtime"):
        assert schema[key] == (), key
    assert TRAIN_RUNTIME_KEYS == ("device", "gpu_wait_s", "mem_mb", "seeds_per_gpu",
                                  "seeds_per_process")
    assert set(RUN_KEYS) == {"store", "stat_cache", "results", "extract.videos_per_job",
                             "verify", "paper"}


@pytest.mark.parametrize("dataset, key", [
    ({"kind": "multi", "roots": {"O": "/data/x"}}, "roots"),
    ({"kind": "multi", "split_seed": 2}, "split_seed"),
    ({"kind": "multi", "protocol": "grandtest"}, "protocol"),
    ({"kind": "ocim", "split_fractions": {"train": 0.6, "devel": 0.2, "test": 0.2}},
     "split_fractions"),
    ({"kind": "ocim", "sources": [{"domain": "A", "dataset": {}}]}, "sources"),
    ({"kind": "folders", "roots": {"O": "/data/oulu"}}, "roots"),
    ({"kind": "replay-attack", "sources": [{"domain": "A", "dataset": {}}]}, "sources"),
])
def test_a_dataset_key_its_kind_ignores_is_refused(dataset, key):
    cfg.validate({"dataset": {"kind": dataset["kind"], "root": "data/synthetic-tiny",
                              "synthetic": {"seed": 3}}})  # set by the shipped configs
    with pytest.raises(cfg.ConfigError, match=rf"'dataset\.{key}': dataset\.kind "
                                              rf"{dataset['kind']} does not read it"):
        cfg.validate({"dataset": dataset})
    with pytest.raises(cfg.ConfigError, match=rf"'dataset\.sources\[0\]\.dataset\.{key}'"):
        cfg.nested_config(dataset, "dataset.sources[0].dataset")


def test_data_locations_name_every_folder_an_experiment_reads():
    conf = cfg.validate({
        "dataset": {"kind": "multi", "sources": [
            {"domain": "F", "dataset": {"kind": "folders", "root": "/data/f"}},
            {"domain": "L", "dataset": {"kind": "manifest", "manifest": "/data/l.csv"}}]},
        "evaluate": {"cross": [
            {"name": "ocim", "dataset": {"kind": "ocim", "folds": ["OCI-M"],
                                         "roots": {"O": "/o", "M": "/m"}}},
            {"name": "s", "dataset": {"kind": "synthetic"}}]}})
    assert cfg.data_locations(conf) == [
        ("dataset.sources[0].dataset.root", "folders", "/data/f"),
        ("dataset.sources[1].dataset.manifest", "manifest", "/data/l.csv"),
        ("evaluate.cross[0].dataset.roots.O", "ocim", "/o"),
        ("evaluate.cross[0].dataset.roots.M", "ocim", "/m"),
        ("evaluate.cross[1].dataset.root", "synthetic", "data/synthetic")]

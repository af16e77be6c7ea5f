import pytest
import yaml

from biorepro import config as cfg


def test_defaults_fill_and_validate():
    c = cfg.validate({})
    assert c["extract"]["n_frames"] == 10 and c["dataset"]["kind"] == "synthetic"
    assert cfg.seed_list(c) == [0, 1, 2]
    assert cfg.seed_list(cfg.validate({"seeds": 4})) == [0, 1, 2, 3]


@pytest.mark.parametrize("bad,message", [
    ({"extract": {"crop": "eyes"}}, "'extract.crop': 'eyes' is not allowed; allowed values: center, face"),
    ({"train": {"epochs": 0}}, "'train.epochs'"),
    ({"tensors": {"image_size": "big"}}, "'tensors.image_size'"),
    ({"trian": {}}, "allowed keys:"),
    ({"extract": {"n_frames": 5, "fps": 2.0}}, "set exactly one"),
    ({"dataset": {"kind": "manifest"}}, "'dataset.manifest': required"),
    ({"dataset": {"split_fractions": {"train": 0.5, "devel": 0.5, "test": 0.5}}}, "sum to 1"),
    ({"evaluate": {"criterion": "far"}}, "'evaluate.target'"),
    ({"seeds": [1, 1]}, "'seeds'"),
])
def test_invalid_values_name_the_key(bad, message):
    with pytest.raises(cfg.ConfigError, match=None) as err:
        cfg.validate(bad)
    assert message in str(err.value)


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
    missing = [k for k in _schema_keys(cfg.schema()) if f"`{k}`" not in readme]
    assert not missing, f"undocumented config keys: {missing}"


def _schema_keys(node, prefix=""):
    for name, sub in node.get("properties", {}).items():
        key = f"{prefix}{name}"
        yield key
        yield from _schema_keys(sub, key + ".")

"""What train.model and train.weights contribute to the key, and their errors, at planning."""

from pathlib import Path

import pytest

from biorepro import config as cfg
from biorepro.plan import train_params
from biorepro.store import fingerprint
from biorepro.store.hashing import file_digest
from biorepro.train import catalog
from biorepro.train.catalog import ModelError


def key(image_size=32, **train):
    """The train key parameters planned for a ``train`` section (fresh fingerprints)."""
    for cached in (fingerprint._parse, fingerprint.code_fingerprint):
        cached.cache_clear()
    conf = cfg.validate({"train": train, "tensors": {"image_size": image_size}})
    return train_params(conf, file_digest)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_builtin_defaults_fill_the_key_and_unknown_parameters_are_refused():
    explicit, _ = key(model_params={"widths": [16, 32, 64], "dropout": 0.25})
    assert key()[0] == explicit
    assert explicit["model"] == {"builtin": "xception_small"}
    with pytest.raises(ModelError, match="width not a parameter of xception_small.*"
                                         "'model_params: null'"):
        key(model_params={"width": 3})
    assert key(model="mobilenet_v2", model_params=None)[0]["model_params"] == {
        "alpha": 1.0, "dropout": 0.2}
    with pytest.raises(ModelError, match="image_size: 32 px is below the 71 px"):
        key(model="xception")


def test_user_model_code_enters_the_key_comments_do_not(user_models):
    params, runtime = key(model="models/tiny_net.py:build", model_params={"width": 4})
    assert runtime["model_file"] == str(user_models / "tiny_net.py")
    assert set(params["model"]["code"]["parts"]) == {"tiny_net", "blocks"}
    assert "keras" in params["model"]["versions"]
    assert "models/" not in str(params), "the file's location is not in the key"

    edit(user_models / "tiny_net.py", "def build(", "# a comment\ndef build(")
    edit(user_models / "blocks.py", '"""Convolution', '"""A reworded docstring. Convolution')
    assert key(model="models/tiny_net.py:build", model_params={"width": 4})[0] == params

    edit(user_models / "blocks.py", "MaxPooling2D(2)", "MaxPooling2D(3)")
    changed, _ = key(model="models/tiny_net.py:build", model_params={"width": 4})
    assert changed["model"]["code"]["parts"]["blocks"] != params["model"]["code"]["parts"][
        "blocks"]
    assert changed["model"]["code"]["parts"]["tiny_net"] == params["model"]["code"]["parts"][
        "tiny_net"]
    assert key(model="models/tiny_net.py:build", model_params={"width": 8})[0] != changed


@pytest.mark.parametrize("model, params, message", [
    ("models/missing.py:build", {}, "missing.py does not exist"),
    ("models/tiny_net.py:buld", {}, "defines no top-level function 'buld'"),
    ("models/tiny_net.py:build", {"depth": 3}, r"depth not accepted by build\(\)"),
    ("models/tiny_net.py", {}, "neither a built-in model"),
    ("resnet", {}, "neither a built-in model"),
])
def test_user_model_errors_name_the_file_and_key(user_models, model, params, message):
    with pytest.raises(ModelError, match=message):
        key(model=model, model_params=params)


def test_a_syntax_error_is_reported_with_its_line(user_models):
    (user_models / "bad.py").write_text("def build(input_shape):\n    return (\n")
    with pytest.raises(ModelError, match=r"bad.py line \d"):
        key(model="models/bad.py:build")


def test_weights_file_digest_enters_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.weights.h5").write_bytes(b"weights one")
    one, runtime = key(weights="w.weights.h5")
    assert one["weights"] == {"source": "file", "sha256": file_digest(tmp_path / "w.weights.h5")}
    assert runtime["weights_file"] == str(tmp_path / "w.weights.h5")
    (tmp_path / "w.weights.h5").write_bytes(b"weights two")
    assert key(weights="w.weights.h5")[0]["weights"] != one["weights"]
    assert key()[0]["weights"] == {"source": "none"}
    with pytest.raises(ModelError, match="nope.h5 does not exist"):
        key(weights="nope.h5")


def test_imagenet_uses_keras_cache_and_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    expected = tmp_path / "kh" / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with pytest.raises(ModelError, match=f"place the file there.*|{expected}") as err:
        key(model="resnet50", weights="imagenet")
    assert str(expected) in str(err.value) and "never downloaded" in str(err.value)
    expected.parent.mkdir(parents=True)
    expected.write_bytes(b"stand-in")
    params, runtime = key(model="resnet50", weights="imagenet")
    assert params["weights"] == {"source": "imagenet", "sha256": file_digest(expected)}
    assert runtime["weights_file"] == str(expected)
    with pytest.raises(ModelError, match="only for the keras.applications"):
        key(weights="imagenet")


def test_imagenet_file_names_follow_keras(tmp_path):
    env = {"KERAS_HOME": str(tmp_path)}
    names = {n: catalog.imagenet_file(n, catalog.BUILTIN[n].params, size, env).name
             for n, size in [("mobilenet_v2", 128), ("efficientnet_b0", 64), ("xception", 96)]}
    assert names == {
        "mobilenet_v2": "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_128_no_top.h5",
        "efficientnet_b0": "efficientnetb0_notop.h5",
        "xception": "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"}
    other = catalog.imagenet_file("mobilenet_v2", {"alpha": 0.35}, 64, env).name
    assert other == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"


def test_runtime_settings_stay_out_of_the_key():
    a, ra = key(seeds_per_gpu=1)
    b, rb = key(seeds_per_gpu=4, mem_mb=9000)
    assert a == b and (ra["seeds_per_gpu"], rb["seeds_per_gpu"]) == (1, 4)


def test_every_training_setting_but_the_runtime_ones_changes_the_key():
    """Each key of the schema's ``train`` section, changed alone, changes the planned
    parameters (so the entry it shapes gets another key); runtime settings do not."""
    from biorepro.plan import TRAIN_RUNTIME_KEYS

    changed = {"model": "mobilenet_v2", "model_params": {"widths": [8, 16]},
               "weights": None, "finetune": {}, "augment": {"flip": True},
               "optimizer": {"name": "sgd"}, "schedule": {"name": "cosine"},
               "label_smoothing": 0.1, "precision": "mixed_bfloat16", "epochs": 3,
               "batch_size": 8, "learning_rate": 0.01, "patience": 1, "score_every": 0,
               "balance": "none", "determinism": "seeded", "threads": 1, "backend": "jax"}
    settings = cfg.schema()["properties"]["train"]["properties"]
    assert set(settings) == set(changed) | set(TRAIN_RUNTIME_KEYS), "a new setting: add it"
    base = key()[0]
    for name, value in changed.items():
        if name == "weights":
            continue  # the weights file's digest: test_weights_file_digest_enters_the_key
        train = {name: value, **({"model_params": None} if name == "model" else {})}
        assert key(**train)[0] != base, name

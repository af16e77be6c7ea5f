"""A user's model is built once at planning; its errors stop planning, its success is cached."""

import subprocess

import pytest

from biorepro.train import check
from biorepro.train.catalog import ModelError
from tests.conftest import train_setup


def no_subprocess(*args, **kwargs):
    raise AssertionError("the model was built again")


def test_a_model_that_builds_is_checked_once(user_models, monkeypatch):
    params, runtime = train_setup(32, model="models/tiny_net.py:build", model_params=None)
    check.check_model(params, runtime, 32)
    assert check.CACHE.is_file()
    monkeypatch.setattr(subprocess, "run", no_subprocess)
    check.check_model(params, runtime, 32)
    with pytest.raises(AssertionError, match="built again"):
        check.check_model(params, runtime, 48)  # another image size is another check


@pytest.mark.parametrize("function, message", [
    ("broken", "tiny_net.py:broken raised RuntimeError: width must be even"),
    ("three_outputs", r"must output shape \(batch, 1\)"),
])
def test_a_model_that_fails_stops_planning_naming_the_file(user_models, function, message):
    params, runtime = train_setup(32, model=f"models/tiny_net.py:{function}", model_params=None)
    with pytest.raises(ModelError, match=message):
        check.check_model(params, runtime, 32)
    assert not check.CACHE.exists()


def test_builtins_without_weights_files_are_not_built(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(subprocess, "run", no_subprocess)
    params, runtime = train_setup(32, model="mobilenet_v2")
    assert not check.needs_check(params)
    check.check_model(params, runtime, 32)

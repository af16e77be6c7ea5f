"""Training jobs in their own processes: bit-reproducibility, divergence, strict mode."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from biorepro.determinism import environment_mismatch, job_environment
from tests.conftest import make_tensor_cache

PARAMS = {"backbone": "xception_small", "widths": [4, 8], "dropout": 0.25, "epochs": 2,
          "batch_size": 16, "learning_rate": 0.001, "patience": 2, "determinism": "strict",
          "threads": 1}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return make_tensor_cache(tmp_path_factory.mktemp("tensors"))


def run_job(cache, out, seed, **overrides):
    params = {**PARAMS, **overrides, "seed": seed}
    spec = {"tensors": str(cache), "seed": seed, "params": params,
            "ingredients": {"params": params}, "device": "cpu", "gpu_wait_s": 0,
            "lock_dir": str(out.parent / "locks")}
    proc = subprocess.run([sys.executable, "-m", "biorepro.train_job", "--spec",
                           json.dumps(spec), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "result.json").read_text()), proc.stderr


def test_same_seed_same_bits_other_seed_other_bits(cache, tmp_path):
    a, log = run_job(cache, tmp_path / "a", 3)
    b, _ = run_job(cache, tmp_path / "b", 3)
    c, _ = run_job(cache, tmp_path / "c", 4)
    assert a["status"] == "ok" and "epoch 1/2" in log
    assert a["weights_sha256"] == b["weights_sha256"] != c["weights_sha256"]
    for split in ("devel", "test"):
        sa = pd.read_csv(tmp_path / "a" / f"scores_{split}.csv")
        sb = pd.read_csv(tmp_path / "b" / f"scores_{split}.csv")
        assert sa["score"].equals(sb["score"]) and sa["score"].notna().all()
        assert list(sa.columns) == ["video_id", "subject", "label", "attack_type", "frame",
                                    "score"]
    prov = json.loads((tmp_path / "a" / "provenance.json").read_text())
    assert prov["observed"]["device"] == "cpu"


def test_strict_mode_is_in_effect_inside_the_job(cache, tmp_path):
    result, _ = run_job(cache, tmp_path / "s", 0)
    back = result["determinism"]["read_back"]
    assert back["op_determinism"] is True and back["jit"] is False
    assert back["intra_op_threads"] == 1 and back["inter_op_threads"] == 1
    assert back["environment"] == {"PYTHONHASHSEED": "0", "TF_ENABLE_ONEDNN_OPTS": "0",
                                   "TF_DETERMINISTIC_OPS": "1", "OMP_NUM_THREADS": "1"}
    assert result["determinism"]["versions"]["tensorflow"].startswith("2.")


def test_seeded_mode_sets_only_seeds(cache, tmp_path):
    result, _ = run_job(cache, tmp_path / "s", 0, determinism="seeded")
    back = result["determinism"]["read_back"]
    assert back["op_determinism"] is False
    assert back["environment"]["PYTHONHASHSEED"] == "0"
    assert back["environment"]["TF_ENABLE_ONEDNN_OPTS"] is None


def test_divergence_is_recorded_not_raised(cache, tmp_path):
    result, log = run_job(cache, tmp_path / "nan", 0, learning_rate=1e30)
    assert result["status"] == "diverged"
    scores = pd.read_csv(tmp_path / "nan" / "scores_test.csv")
    assert scores["score"].isna().all()
    assert "diverged" in log


def test_job_environment_and_mismatch():
    env = job_environment(7, "strict", 3)
    assert env["PYTHONHASHSEED"] == "7" and env["TF_ENABLE_ONEDNN_OPTS"] == "0"
    assert env["TF_NUM_INTRAOP_THREADS"] == "3"
    assert "TF_ENABLE_ONEDNN_OPTS" not in job_environment(7, "seeded", 3)
    assert "PYTHONHASHSEED" not in job_environment(7, "off", 3)
    assert environment_mismatch(7, "strict", 3, env) == {}
    assert environment_mismatch(7, "strict", 3, {**env, "PYTHONHASHSEED": "1"}) == {
        "PYTHONHASHSEED": "7"}
    with pytest.raises(ValueError, match="train.determinism"):
        job_environment(0, "exact", 1)


def test_failed_job_publishes_nothing(tmp_path):
    spec = {"tensors": str(tmp_path / "missing"), "seed": 0, "params": {**PARAMS, "seed": 0},
            "ingredients": {}, "device": "cpu", "gpu_wait_s": 0, "lock_dir": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "biorepro.train_job", "--spec",
                           json.dumps(spec), "--out", str(tmp_path / "entry")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "missing" in proc.stderr
    assert not (tmp_path / "entry").exists()
    assert not list(tmp_path.glob(".tmp-*"))

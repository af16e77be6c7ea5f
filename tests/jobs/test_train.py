"""Training jobs in their own processes: bit-reproducibility, divergence, strict mode."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biorepro.plan import make_entry
from biorepro.store.entries import staging, write_provenance
from biorepro.train.determinism import environment_mismatch, job_environment
from tests.conftest import make_tensor_cache, train_setup, with_fake_smi

TRAIN = {"model_params": {"widths": [4, 8]}, "epochs": 2, "batch_size": 16, "patience": 2,
         "threads": 1}




@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A small tensor cache, published as a store entry (a job verifies its inputs)."""
    e = make_entry(str(tmp_path_factory.mktemp("store")), "tensors", {"image_size": 16}, {})
    with staging(e.path) as tmp:
        make_tensor_cache(tmp)
        write_provenance(tmp, e.ingredients)
    return e


def run_seeds(seed: int, **sources) -> dict:
    """A run's seeds: every source ``seed``, but those given in ``sources``."""
    return {"init": seed, "order": seed, "noise": seed, "replicate": 0, **sources}


def train_entry(cache, store: Path, seed: int | dict, **overrides):
    """The train entry of ``seed`` (every source's, or a run's seeds) in ``store``
    (settings ``TRAIN`` and ``overrides``)."""
    params, runtime = train_setup(cache.ingredients["params"]["image_size"],
                                  **{**TRAIN, **overrides})
    seeds = seed if isinstance(seed, dict) else run_seeds(seed)
    return make_entry(str(store), "train", {**params, "seeds": seeds},
                      {"tensors": cache}, runtime={**runtime, "lock_dir": str(store / "locks")})


def job(entry, *args, check=True, env=None) -> subprocess.CompletedProcess:
    """Run ``python -m biorepro.jobs`` on the entry's job (extra arguments ``args``)."""
    proc = subprocess.run([sys.executable, "-m", "biorepro.jobs", "--job",
                           json.dumps(entry.job()), *args],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0 or not check, proc.stderr[-3000:]
    return proc


def run_job(cache, store, seed, **overrides):
    """Train one entry; returns (result.json, provenance, log, entry folder)."""
    entry = train_entry(cache, store, seed, **overrides)
    log = job(entry).stderr
    out = Path(entry.path)
    return (json.loads((out / "result.json").read_text()),
            json.loads((out / "provenance.json").read_text()), log, out)


def test_same_seed_same_bits_other_seed_other_bits(cache, tmp_path):
    a, prov, log, out_a = run_job(cache, tmp_path / "a", 3)
    b, _, _, out_b = run_job(cache, tmp_path / "b", 3)
    c, _, _, _ = run_job(cache, tmp_path / "c", 4)
    assert a["status"] == "ok" and "epoch 1/2" in log
    assert a["weights_sha256"] == b["weights_sha256"] != c["weights_sha256"]
    for split in ("devel", "test"):
        sa = pd.read_csv(out_a / f"scores_{split}.csv")
        sb = pd.read_csv(out_b / f"scores_{split}.csv")
        assert sa["score"].equals(sb["score"]) and sa["score"].notna().all()
        assert list(sa.columns) == ["video_id", "subject", "label", "attack_type", "frame",
                                    "score"]
    assert sorted(prov["files"]) == ["epoch_scores_devel.npy", "epoch_scores_test.npy",
                                     "history.csv", "model.json", "model.safetensors",
                                     "result.json", "scores_devel.csv", "scores_test.csv"]
    assert prov["observed"]["device"] == "cpu" and prov["observed"]["duration_s"] > 0
    assert "duration_s" not in a and "determinism" not in a  # observed, not computed


def test_epoch_scores_change_no_weight_and_the_kept_epoch_scores_as_the_entry(cache, tmp_path):
    """``train.score_every``: scoring at epochs draws nothing (the weights are the unscored
    run's); every k-th epoch and the last are scored, and the epoch training keeps scores
    exactly as the entry's final model."""
    overrides = {"epochs": 5, "patience": 5}
    plain, _, _, plain_dir = run_job(cache, tmp_path / "off", 3, score_every=0, **overrides)
    scored, _, log, out = run_job(cache, tmp_path / "every2", 3, score_every=2, **overrides)
    assert scored["weights_sha256"] == plain["weights_sha256"]
    assert not list(plain_dir.glob("epoch_scores_*"))
    history = pd.read_csv(out / "history.csv")
    assert history.loc[history["scored"] == 1, "epoch"].tolist() == [2, 4, 5]
    assert "scored" not in pd.read_csv(plain_dir / "history.csv")
    every, _, _, out1 = run_job(cache, tmp_path / "every1", 3, score_every=1, **overrides)
    for split in ("devel", "test"):
        by_epoch = np.load(out / f"epoch_scores_{split}.npy")
        final = pd.read_csv(out / f"scores_{split}.csv")["score"].to_numpy()
        assert by_epoch.dtype == np.float32 and by_epoch.shape == (3, len(final))
        all_epochs = np.load(out1 / f"epoch_scores_{split}.npy")
        assert np.array_equal(all_epochs[[1, 3, 4]], by_epoch)  # the same epochs' scores
        kept = all_epochs[every["best_epoch"] - 1].astype(np.float64)
        assert np.array_equal(kept, final)
        assert not np.array_equal(all_epochs[0], all_epochs[-1])


def test_runs_trained_in_one_process_are_the_runs_trained_alone(cache, strict_entry, tmp_path):
    """``train.seeds_per_process``: a job of several runs resets everything between them,
    so each entry is bit for bit the one trained in its own process (seed 0 alone:
    ``strict_entry``); a run that only changes the data order has other weights."""
    store = tmp_path / "store"
    first, second = (train_entry(cache, store, s) for s in (run_seeds(0, order=7), 0))
    receipt = tmp_path / "receipt"
    proc = subprocess.run([sys.executable, "-m", "biorepro.jobs", "--job",
                           json.dumps([first.job(), second.job()]), "--receipt", str(receipt)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "train 2/2" in proc.stderr
    assert [item["path"] for item in json.loads(receipt.read_text())] == [
        str(Path(e.path).resolve()) for e in (first, second)]
    alone_dir, alone, _ = strict_entry
    batched = json.loads((Path(second.path) / "result.json").read_text())
    assert batched["weights_sha256"] == alone["weights_sha256"]
    for name in ("scores_devel.csv", "scores_test.csv", "history.csv", "model.safetensors"):
        assert (Path(second.path) / name).read_bytes() == (alone_dir / name).read_bytes()
    other = json.loads((Path(first.path) / "result.json").read_text())
    alone_first = run_job(cache, tmp_path / "alone", run_seeds(0, order=7))[0]
    assert other["weights_sha256"] == alone_first["weights_sha256"] != alone["weights_sha256"]


@pytest.fixture(scope="module")
def cache32(tmp_path_factory):
    """A 32 px tensor cache entry (the smallest side the keras.applications take)."""
    e = make_entry(str(tmp_path_factory.mktemp("store32")), "tensors", {"image_size": 32}, {})
    with staging(e.path) as tmp:
        make_tensor_cache(tmp, size=32)
        write_provenance(tmp, e.ingredients)
    return e


FINETUNE = {"model": "mobilenet_v2", "model_params": {"alpha": 0.35},
            "finetune": {"head_epochs": 1, "unfreeze": 12, "learning_rate": 1e-4},
            "epochs": 1, "augment": {"flip": True, "rotation": 0.05, "zoom": 0.1,
                                     "translation": 0.1, "brightness": 0.1, "contrast": 0.2},
            "optimizer": {"name": "adamw"}, "schedule": {"name": "cosine"},
            "label_smoothing": 0.1}


@pytest.mark.slow  # over a minute: two fine-tuning runs with augmentation at 32 px
def test_finetune_with_augmentation_retrains_bit_for_bit(cache32, tmp_path):
    """Both phases (head on a frozen backbone, then its top layers unfrozen) and the
    augmentation draws repeat exactly under strict determinism."""
    a, prov, log, out = run_job(cache32, tmp_path / "a", 1, **FINETUNE)
    b, _, _, _ = run_job(cache32, tmp_path / "b", 1, **FINETUNE)
    assert a["status"] == "ok" and a["weights_sha256"] == b["weights_sha256"]
    assert "head epoch 1/1" in log and "finetune epoch 1/1" in log and "unfrozen" in log
    history = pd.read_csv(out / "history.csv")
    assert list(history["phase"]) == ["head", "finetune"] and list(history["epoch"]) == [1, 2]


@pytest.mark.slow  # two mixed-precision trainings; strict determinism is checked above
def test_mixed_precision_is_recorded_and_repeats(cache, strict_entry, tmp_path):
    a, prov, _, _ = run_job(cache, tmp_path / "a", 0, precision="mixed_bfloat16")
    b, _, _, _ = run_job(cache, tmp_path / "b", 0, precision="mixed_bfloat16")
    float32 = strict_entry[1]  # the same seed and settings in float32
    assert a["weights_sha256"] == b["weights_sha256"] != float32["weights_sha256"]
    precision = prov["observed"]["precision"]
    assert precision["policy"] == "mixed_bfloat16" and precision["compute_dtype"] == "bfloat16"
    assert precision["variable_dtype"] == "float32" and precision["deterministic"] is True


def test_user_model_file_is_named_in_provenance_and_checked(cache, tmp_path, user_models):
    entry = train_entry(cache, tmp_path / "store", 0, model="models/tiny_net.py:build",
                        model_params={"width": 2, "softmax": True})
    job(entry)
    prov = json.loads((Path(entry.path) / "provenance.json").read_text())
    named = prov["observed"]["model_file"]
    assert named["path"] == str(tmp_path / "models" / "tiny_net.py")
    assert named["code"] == entry.ingredients["params"]["model"]["code"]
    later = train_entry(cache, tmp_path / "store2", 0, model="models/tiny_net.py:build",
                        model_params={})
    blocks = tmp_path / "models" / "blocks.py"
    blocks.write_text(blocks.read_text().replace("MaxPooling2D(2)", "MaxPooling2D(3)"))
    proc = job(later, check=False)
    assert proc.returncode != 0 and "changed since the workflow was planned" in proc.stderr
    assert not Path(later.path).exists()


def test_cross_scores_with_a_user_layer_equal_the_models_own_and_need_the_same_file(
        cache, tmp_path, user_models):
    """Scoring the training's own tensors as a cross target gives the train entry's test
    scores, bit for bit; the user's file must be the one trained with."""
    store = tmp_path / "store"
    trained = train_entry(cache, store, 0, model="models/tiny_net.py:own_layer",
                          model_params={})
    job(trained)
    runtime = {"threads": 1, "model_file": trained.runtime["model_file"], "weights_file": None}
    cross = make_entry(str(store), "cross", {"target": "self", "determinism": "strict",
                                             "threads": 1,
                                             "backend": trained.ingredients["params"]["backend"]},
                       {"train": trained, "tensors": cache}, runtime=runtime)
    job(cross)
    for split in ("devel", "test"):
        assert (Path(cross.path) / f"scores_{split}.csv").read_bytes() == (
            Path(trained.path) / f"scores_{split}.csv").read_bytes()
    blocks = user_models / "blocks.py"
    blocks.write_text(blocks.read_text().replace("axis=(1, 2, 3)", "axis=(1, 2)"))
    again = make_entry(str(tmp_path / "store2"), "cross", cross.ingredients["params"],
                       {"train": trained, "tensors": cache}, runtime=runtime)
    proc = job(again, check=False)
    assert proc.returncode != 0 and "changed since the workflow was planned" in proc.stderr


@pytest.fixture(scope="module")
def strict_entry(cache, tmp_path_factory):
    """Seed 0 trained in strict mode: ``(entry folder, result.json, provenance)``."""
    result, prov, _, out = run_job(cache, tmp_path_factory.mktemp("strict"), 0)
    return out, result, prov


def test_saved_model_loads_with_its_weights_and_scores(cache, strict_entry):
    from biorepro.data.tensors import load_split
    from biorepro.train.weights import load_model, weights_fingerprint

    entry, result, _ = strict_entry
    model = load_model(entry)
    assert weights_fingerprint(model) == result["weights_sha256"]
    images = load_split(cache.path, "test").images
    scores = pd.read_csv(entry / "scores_test.csv")["score"].to_numpy()
    np.testing.assert_allclose(model.predict(images, verbose=0)[:, 0], scores, atol=1e-5)


def test_verify_retrains_bit_for_bit(cache, strict_entry, tmp_path):
    entry = train_entry(cache, strict_entry[0].parent.parent, 0)
    assert entry.path == str(strict_entry[0])
    log = job(entry, "--into", str(tmp_path / "retrained"), "--report",
              str(tmp_path / "verify.json")).stderr
    report = json.loads((tmp_path / "verify.json").read_text())
    assert report["weights_identical"] and report["scores_identical"]
    assert report["max_abs_weight_diff"] == 0.0 and report["differing_files"] == []
    assert "differing files none" in log


def test_strict_mode_is_in_effect_inside_the_job(strict_entry):
    record = strict_entry[2]["observed"]["determinism"]
    back = record["read_back"]
    assert back["op_determinism"] is True and back["jit"] is False
    assert back["intra_op_threads"] == 1 and back["inter_op_threads"] == 1
    assert back["environment"] == {"PYTHONHASHSEED": "0", "TF_ENABLE_ONEDNN_OPTS": "0",
                                   "TF_DETERMINISTIC_OPS": "1", "OMP_NUM_THREADS": "1"}
    assert record["versions"]["tensorflow"].startswith("2.")


def test_seeded_mode_sets_only_seeds(cache, tmp_path):
    _, prov, _, _ = run_job(cache, tmp_path / "s", 0, determinism="seeded")
    back = prov["observed"]["determinism"]["read_back"]
    assert back["op_determinism"] is False
    assert back["environment"]["PYTHONHASHSEED"] == "0"
    assert back["environment"]["TF_ENABLE_ONEDNN_OPTS"] is None


def test_divergence_is_recorded_not_raised(cache, tmp_path):
    result, _, log, out = run_job(cache, tmp_path / "nan", 0, learning_rate=1e30)
    assert result["status"] == "diverged"
    scores = pd.read_csv(out / "scores_test.csv")
    assert scores["score"].isna().all()
    assert "diverged" in log


def test_job_environment_and_mismatch():
    env = job_environment("strict", 3)
    assert env["PYTHONHASHSEED"] == "0" and env["TF_ENABLE_ONEDNN_OPTS"] == "0"
    assert env["TF_NUM_INTRAOP_THREADS"] == "3"
    assert "TF_ENABLE_ONEDNN_OPTS" not in job_environment("seeded", 3)
    assert "PYTHONHASHSEED" not in job_environment("off", 3)
    assert environment_mismatch("strict", 3, environ=env) == {}
    assert environment_mismatch("strict", 3, environ={**env, "PYTHONHASHSEED": "1"}) == {
        "PYTHONHASHSEED": "0"}
    with pytest.raises(ValueError, match="train.determinism"):
        job_environment("exact", 1)


def test_failed_job_publishes_nothing(tmp_path):
    gone = make_entry(str(tmp_path / "other"), "tensors", {"image_size": 16}, {})
    entry = train_entry(gone, tmp_path, 0)
    proc = job(entry, check=False)
    assert proc.returncode != 0 and "no longer in the store" in proc.stderr
    assert entry.key is None and not (tmp_path / "train").exists()  # nor a temporary one


def test_auto_with_a_gpu_the_backend_cannot_use_trains_on_the_cpu_and_says_why(cache, tmp_path):
    """nvidia-smi lists a GPU, the installed TensorFlow cannot use it: the CPU is recorded."""
    (tmp_path / "bin").mkdir()
    entry = train_entry(cache, tmp_path / "store", 0, device="auto")
    job(entry, env=with_fake_smi(tmp_path / "bin"))
    seen = json.loads((Path(entry.path) / "provenance.json").read_text())["observed"]
    assert seen["device"] == "cpu" and seen["devices"] == ["/device:CPU:0"]
    assert "GPU 0 is listed by nvidia-smi, but tensorflow sees no GPU" in seen["device_choice"]
    assert "pip install -r" in seen["device_choice"] and seen["compute"]["device"] == "cpu"


def test_gpu_with_a_gpu_the_backend_cannot_use_stops_before_training(cache, tmp_path):
    (tmp_path / "bin").mkdir()
    entry = train_entry(cache, tmp_path / "store", 0, device="gpu")
    proc = job(entry, check=False, env=with_fake_smi(tmp_path / "bin"))
    assert proc.returncode != 0 and "train.device is gpu" in proc.stderr
    assert "tensorflow sees no GPU" in proc.stderr and "pip install -r" in proc.stderr
    assert "epoch 1/" not in proc.stderr and not Path(entry.path).exists()


@pytest.mark.slow
def test_jax_trains_without_tensorflow_bit_for_bit_under_its_own_key(cache, tmp_path):
    """On JAX, with TensorFlow made unimportable: trained, verified bit for bit, and keyed
    apart from the TensorFlow run of the same seed."""
    blocked = tmp_path / "blocked" / "tensorflow"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('tensorflow is blocked here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(blocked.parent), os.environ.get("PYTHONPATH", "")])}
    entry = train_entry(cache, tmp_path / "store", 0, backend="jax")
    assert entry.key != train_entry(cache, tmp_path / "store", 0).key
    assert entry.ingredients["params"]["backend"]["name"] == "jax"
    log = job(entry, env=env).stderr
    assert "backend jax" in log and "epoch 2/2" in log
    seen = json.loads((Path(entry.path) / "provenance.json").read_text())["observed"]
    record = seen["determinism"]
    assert record["backend"] == "jax" and record["read_back"]["op_determinism"] is True
    assert record["versions"]["jax"] and "tensorflow" not in record["versions"]
    assert seen["device"] == "cpu" and seen["devices"] == ["cpu:0"]
    job(entry, "--into", str(tmp_path / "retrained"), "--report", str(tmp_path / "v.json"),
        env=env)
    report = json.loads((tmp_path / "v.json").read_text())
    assert report["weights_identical"] and report["scores_identical"]
    assert report["same_platform"] and report["differing_files"] == []


def test_a_job_refuses_backend_versions_other_than_planned(cache, tmp_path):
    entry = train_entry(cache, tmp_path / "store", 0)
    planned = entry.job()
    planned["ingredients"]["params"]["backend"]["versions"]["tensorflow"] = "0.0.1"
    planned["key"] = None  # the key the job derives is the planned one's
    proc = subprocess.run([sys.executable, "-m", "biorepro.jobs", "--job", json.dumps(planned)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "planned with {'tensorflow': '0.0.1'}" in proc.stderr
    assert not Path(entry.path).exists()

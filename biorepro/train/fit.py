"""Training one seed from the tensor cache, and scoring devel and test.

``params`` (the ``train`` key part plus ``seed``, see :mod:`biorepro.train.catalog`):
the model (:mod:`biorepro.train.model`), ``augment``, ``epochs``, ``batch_size``,
``learning_rate``, ``optimizer``, ``schedule``, ``label_smoothing``
(:mod:`biorepro.train.optim`), ``patience`` (early stopping on devel loss, best weights
restored), ``finetune``. Classes are weighted equally in the loss.

Without ``finetune`` the whole model trains for up to ``epochs`` epochs (phase
``train``). With it (``head_epochs``, ``unfreeze``, ``learning_rate``), phase ``head``
trains for ``head_epochs`` epochs with the layer named ``backbone`` frozen; phase
``finetune`` then unfreezes its top ``unfreeze`` layers (``all``: every one) and
recompiles at the fine-tuning rate for up to ``epochs`` epochs. BatchNorm layers of
the backbone stay frozen in both phases: a frozen BatchNorm runs in inference mode in
Keras 3, so the moving statistics the weights were trained with are kept and training
and inference compute the same function. A run whose loss becomes NaN stops
(``TerminateOnNaN``), is recorded as ``diverged`` and gets NaN scores: never an error.

With ``score_every`` k > 0, devel and test are scored at the end of every k-th epoch and
of the last epoch of each phase, before early stopping restores the best weights
(:class:`EpochScores`): the scores the selection rules are evaluated on
(:mod:`biorepro.evaluate.selection`). Scoring runs the model in inference mode and
draws no random number: the weights are those of the run without it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from biorepro.data.tensors import load_split
from biorepro.joblog import Log
from biorepro.train import kernels, optim, sources
from biorepro.train.catalog import ModelError
from biorepro.train.input import CacheBatches, balance_groups, balanced_weights
from biorepro.train.model import BACKBONE, build_model
from biorepro.train.weights import weights_fingerprint

SCORE_COLUMNS = ["video_id", "subject", "label", "attack_type", "frame", "score"]


class EpochLog(keras.callbacks.Callback):
    """One progress line per epoch in the job's log."""

    def __init__(self, log: Log, epochs: int, phase: str):
        super().__init__()
        self.log, self.epochs, self.phase, self.start = log, epochs, phase, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        """Start the epoch's timer (``epoch`` counts from 0)."""
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        """Log ``<phase> epoch k/N`` (k from 1), the losses and accuracies present, and seconds."""
        logs = logs or {}
        parts = " ".join(f"{k}={logs[k]:.4f}" for k in ("loss", "accuracy", "val_loss",
                                                         "val_accuracy") if k in logs)
        self.log(f"{self.phase} epoch {epoch + 1}/{self.epochs} {parts} "
                 f"({time.perf_counter() - self.start:.1f} s)")


class EpochScores(keras.callbacks.Callback):
    """Devel and test scores (frames in the order of :func:`score_split`'s table) at the
    end of every ``every``-th epoch (numbered from 1 across phases) and of a phase's last
    one; it must come before ``EarlyStopping`` among the callbacks, so that the last
    epoch is scored before the best weights are restored. One instance records every
    phase: ``epochs`` lists the epochs scored, ``scores[split]`` one array per epoch."""

    def __init__(self, splits: dict, batch_size: int, every: int):
        super().__init__()
        self.splits, self.batch_size, self.every = splits, batch_size, every
        self.epochs: list[int] = []
        self.scores: dict[str, list[np.ndarray]] = {split: [] for split in splits}
        self.first, self.last = 1, None

    def start_phase(self, first_epoch: int) -> EpochScores:
        """Number the next phase's epochs from ``first_epoch``."""
        self.first, self.last = first_epoch, None
        return self

    def on_epoch_end(self, epoch, logs=None):
        """Score at every ``every``-th epoch."""
        self.last = self.first + epoch
        if self.last % self.every == 0:
            self._score(self.last)

    def on_train_end(self, logs=None):
        """Score the phase's last epoch, when it was not yet."""
        if self.last is not None and (not self.epochs or self.epochs[-1] != self.last):
            self._score(self.last)

    def _score(self, epoch: int) -> None:
        self.epochs.append(epoch)
        for split, data in self.splits.items():
            self.scores[split].append(predict_scores(self.model, data, self.batch_size))


def backbone_of(model: keras.Model) -> keras.Model:
    """The layer named ``backbone`` of ``model`` (or of a model nested in it)."""
    for layer in model._flatten_layers(include_self=False):
        if layer.name == BACKBONE and isinstance(layer, keras.Model):
            return layer
    raise ModelError("train.finetune: the model has no nested model named "
                     f"'{BACKBONE}' to freeze (the keras.applications backbones have one; "
                     "a user model names its pretrained part so)")


def freeze(backbone: keras.Model, unfreeze: int | str = 0) -> None:
    """Freeze ``backbone`` except its top ``unfreeze`` layers (``all``: every layer);
    BatchNorm layers stay frozen (inference mode) either way."""
    backbone.trainable = True
    inner = backbone.layers
    keep = len(inner) if unfreeze == "all" else min(int(unfreeze), len(inner))
    for i, layer in enumerate(inner):
        frozen = i < len(inner) - keep or isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = not frozen


def _fit_phase(model, phase: str, data, params: dict, rate: float, epochs: int,
               first_epoch: int, log: Log, scorer: EpochScores | None) -> pd.DataFrame:
    """Fit ``epochs`` epochs numbered from ``first_epoch`` (from 1; their orders follow on
    from the previous phase's), scored by ``scorer`` (None: not scored)."""
    train, devel_ds, seeds = data
    train_ds = train_pipeline(train, params["batch_size"], seeds, epochs, first_epoch - 1,
                              params["balance"])
    steps = train_ds.steps_per_epoch
    model.compile(optimizer=optim.optimizer(params["optimizer"], optim.schedule(
                      params["schedule"], rate, epochs, steps)),
                  loss=optim.loss(params["label_smoothing"]), metrics=["accuracy"],
                  jit_compile=_jit(params))
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=params["patience"],
                                            restore_best_weights=True)
    try:
        fit = model.fit(train_ds, epochs=epochs, steps_per_epoch=steps,
                        validation_data=devel_ds, verbose=0, shuffle=False,
                        callbacks=[keras.callbacks.TerminateOnNaN(),
                                   *([scorer.start_phase(first_epoch)] if scorer else []),
                                   stopper, EpochLog(log, epochs, phase)])
    except Exception as err:  # TensorFlow's UnimplementedError, named without importing it
        explained = (kernels.explain_unimplemented(str(err), model)
                     if type(err).__name__ == "UnimplementedError" else None)
        if explained is None:
            raise
        raise ModelError(explained) from err
    history = pd.DataFrame(fit.history)
    history.insert(0, "phase", phase)
    history.insert(0, "epoch", np.arange(first_epoch, first_epoch + len(history)))
    if scorer is not None:
        history["scored"] = history["epoch"].isin(scorer.epochs).astype(int)
    return history


def _jit(params: dict) -> bool | str:
    """XLA off under TensorFlow's strict determinism (Keras turns it off there anyway:
    some XLA GPU gradients have no deterministic kernel); JAX always compiles."""
    strict_tf = params["determinism"] == "strict" and params["backend"]["name"] == "tensorflow"
    return False if strict_tf else "auto"


def seeded_model(params: dict, runtime: dict, input_shape, seeds: dict) -> keras.Model:
    """The model, its initial weights drawn from ``seeds["init"]`` and its dropout and
    augmentation generators from ``seeds["noise"]`` (:mod:`biorepro.train.sources`)."""
    mode = params["determinism"]
    sources.set_global(seeds["init"], mode)
    model = build_model(params, runtime, input_shape, noise_seed=seeds["noise"])
    if mode in sources.SEEDED_MODES:
        sources.reseed_noise(model, seeds["noise"])
    return model


def train_pipeline(train, batch: int, seeds: dict, epochs: int, first_epoch: int = 0,
                   balance: str = "label") -> CacheBatches:
    """The training batches of ``epochs`` epochs from epoch ``first_epoch`` (from 0),
    shuffled from ``seeds["order"]`` alone, the groups of ``balance`` (``train.balance``:
    :func:`biorepro.train.input.balance_groups`) weighted equally."""
    groups = balance_groups(train, balance)
    return CacheBatches(train, batch, shuffle_seed=seeds["order"], epochs=epochs,
                        first_epoch=first_epoch,
                        weights=None if groups is None else balanced_weights(groups))


def check_gpu_kernels(model, params: dict, input_shape) -> None:
    """Under TensorFlow's strict determinism on a GPU, refuse (naming op and layer) a model
    whose training step uses an op without a deterministic GPU kernel, before training
    (:mod:`biorepro.train.kernels`; JAX's deterministic XLA flag has no such refusals)."""
    if params["determinism"] != "strict" or params["backend"]["name"] != "tensorflow":
        return
    findings = kernels.nondeterministic_ops(model, input_shape)
    if findings:
        raise ModelError(kernels.describe(findings))


def train_seed(tensor_dir: str | Path, seeds: dict, params: dict, runtime: dict,
               log: Log = print, on_gpu: bool = False):
    """Fit a model from the run's ``seeds`` (``init``, ``order``, ``noise``; see
    :mod:`biorepro.train.sources`); returns ``(model, history DataFrame, result dict,
    per-epoch scores)``: the scores an :class:`EpochScores` recorded with
    ``params["score_every"]`` > 0 (``history``'s ``scored`` column marks its epochs), else
    None.
    ``runtime`` gives the files the model is read from (``model_file``, ``weights_file``);
    ``on_gpu``: the backend trains on a GPU (:func:`check_gpu_kernels` first).
    Every source is seeded again here; Keras' global state must have been cleared
    before (:func:`biorepro.train.sources.reset`, before the precision policy is set) for
    a run trained after another in the same process to be the run trained alone."""
    train, devel = load_split(tensor_dir, "train"), load_split(tensor_dir, "devel")
    if not len(train) or not len(devel):
        raise ValueError(f"tensor cache {tensor_dir}: train ({len(train)}) and devel "
                         f"({len(devel)}) must both have frames")
    mode = params["determinism"]
    model = seeded_model(params, runtime, train.images.shape[1:], seeds)
    if on_gpu:
        check_gpu_kernels(model, params, train.images.shape[1:])
    log(f"model: {model.count_params():,} parameters")
    batch = params["batch_size"]
    data = (train, CacheBatches(devel, batch), seeds)
    scorer = (EpochScores({"devel": devel, "test": load_split(tensor_dir, "test")}, batch,
                          params["score_every"]) if params["score_every"] else None)
    sources.set_global(seeds["noise"], mode)
    tune = params["finetune"]
    if tune is None:
        history = _fit_phase(model, "train", data, params, params["learning_rate"],
                             params["epochs"], 1, log, scorer)
    else:
        backbone = backbone_of(model)
        freeze(backbone, 0)
        head = _fit_phase(model, "head", data, params, params["learning_rate"],
                          tune["head_epochs"], 1, log, scorer)
        freeze(backbone, tune["unfreeze"])
        log(f"finetune: {sum(math.prod(w.shape) for w in backbone.trainable_weights):,} backbone "
            "parameters unfrozen")
        history = pd.concat([head, _fit_phase(model, "finetune", data, params,
                                              tune["learning_rate"], params["epochs"],
                                              len(head) + 1, log, scorer)], ignore_index=True)
    diverged = not np.isfinite(history[["loss", "val_loss"]].to_numpy()).all()
    if diverged:
        log("training diverged (NaN loss): scores are NaN")
        train_acc = math.nan
        best = None
    else:
        train_acc = float(model.evaluate(CacheBatches(train, batch), verbose=0)[1])
        last = history[history["phase"] == history["phase"].iloc[-1]]
        best = int(last.loc[last["val_loss"].idxmin(), "epoch"])
    result = {"status": "diverged" if diverged else "ok", "seeds": seeds,
              "epochs_trained": len(history), "best_epoch": best,
              "train_accuracy": train_acc, "weights_sha256": weights_fingerprint(model)}
    return model, history, result, scorer


def score_split(model, tensor_dir: str | Path, split: str, batch_size: int = 64,
                nan: bool = False) -> pd.DataFrame:
    """Frame-level scores (probability of bona fide) of one split: the frames with an image
    in cache order (NaN when ``nan``), then those without a face (failures to acquire, in
    the cache's ``fta`` order), NaN, so that evaluation counts them as FTA."""
    data = load_split(tensor_dir, split)
    scores = (np.full(len(data) + len(data.fta), np.nan, np.float32) if nan else
              predict_scores(model, data, batch_size))
    video = np.concatenate([data.video_index, data.fta[:, 0]])
    table = data.videos.iloc[video].reset_index(drop=True).assign(
        frame=np.concatenate([data.frame_index, data.fta[:, 1]]),
        score=scores.astype(np.float64))
    return table[SCORE_COLUMNS]


def predict_scores(model, data, batch_size: int = 64) -> np.ndarray:
    """The model's scores (float32) of a split's frames: those with an image in cache
    order, then NaN for each frame without a face (in the cache's ``fta`` order)."""
    scores = (model.predict(CacheBatches(data, batch_size, with_labels=False), verbose=0)[:, 0]
              if len(data) else np.zeros(0))
    return np.concatenate([scores, np.full(len(data.fta), np.nan)]).astype(np.float32)

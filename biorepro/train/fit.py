"""Training one seed from the tensor cache, and scoring devel and test.

``params`` (the ``train`` config section plus ``seed``): ``backbone``, ``widths``,
``dropout``, ``epochs``, ``batch_size``, ``learning_rate`` (Adam), ``patience`` (early
stopping on devel loss, best weights restored), ``determinism``, ``threads``. Loss is
binary cross-entropy with label 1 = bona fide, classes weighted equally. A run whose loss
becomes NaN stops
(``TerminateOnNaN``), is recorded as ``diverged`` and gets NaN scores: never an error.
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
from biorepro.train.input import balanced_weights, dataset
from biorepro.train.model import build_model
from biorepro.train.weights import weights_fingerprint

SCORE_COLUMNS = ["video_id", "subject", "label", "attack_type", "frame", "score"]


class EpochLog(keras.callbacks.Callback):
    """One progress line per epoch in the job's log."""

    def __init__(self, log: Log, epochs: int):
        super().__init__()
        self.log, self.epochs, self.start = log, epochs, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        """Start the epoch's timer (``epoch`` counts from 0)."""
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        """Log ``epoch k/N`` (k from 1), the losses and accuracies present, and seconds."""
        logs = logs or {}
        parts = " ".join(f"{k}={logs[k]:.4f}" for k in ("loss", "accuracy", "val_loss",
                                                         "val_accuracy") if k in logs)
        self.log(f"epoch {epoch + 1}/{self.epochs} {parts} "
                 f"({time.perf_counter() - self.start:.1f} s)")


def train_seed(tensor_dir: str | Path, seed: int, params: dict, log: Log = print):
    """Fit a model; returns ``(model, history DataFrame, result dict)``."""
    train, devel = load_split(tensor_dir, "train"), load_split(tensor_dir, "devel")
    if not len(train) or not len(devel):
        raise ValueError(f"tensor cache {tensor_dir}: train ({len(train)}) and devel "
                         f"({len(devel)}) must both have frames")
    model = build_model(params["backbone"], train.images.shape[1:],
                        widths=tuple(params["widths"]), dropout=params["dropout"])
    model.compile(optimizer=keras.optimizers.Adam(params["learning_rate"]),
                  loss="binary_crossentropy", metrics=["accuracy"],
                  jit_compile=False if params["determinism"] == "strict" else "auto")
    batch = params["batch_size"]
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=params["patience"],
                                            restore_best_weights=True)
    weights = balanced_weights(train.labels)
    fit = model.fit(dataset(train, batch, shuffle_seed=seed, weights=weights),
                    epochs=params["epochs"],
                    validation_data=dataset(devel, batch), verbose=0, shuffle=False,
                    callbacks=[keras.callbacks.TerminateOnNaN(), stopper,
                               EpochLog(log, params["epochs"])])
    history = pd.DataFrame(fit.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    diverged = not np.isfinite(history[["loss", "val_loss"]].to_numpy()).all()
    if diverged:
        log("training diverged (NaN loss): scores are NaN")
        train_acc = math.nan
        best = None
    else:
        train_acc = float(model.evaluate(dataset(train, batch), verbose=0)[1])
        best = int(history["val_loss"].idxmin()) + 1
    result = {"status": "diverged" if diverged else "ok", "seed": seed,
              "epochs_trained": len(history), "best_epoch": best,
              "train_accuracy": train_acc, "weights_sha256": weights_fingerprint(model)}
    return model, history, result


def score_split(model, tensor_dir: str | Path, split: str, batch_size: int = 64,
                nan: bool = False) -> pd.DataFrame:
    """Frame-level scores (probability of bona fide) of one split, in cache order."""
    data = load_split(tensor_dir, split)
    videos = data.videos.iloc[data.video_index].reset_index(drop=True)
    if nan or not len(data):
        scores = np.full(len(data), np.nan)
    else:
        scores = model.predict(dataset(data, batch_size, with_labels=False), verbose=0)[:, 0]
    table = videos.assign(frame=data.frame_index, score=scores.astype(np.float64))
    return table[SCORE_COLUMNS]

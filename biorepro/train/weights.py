"""A trained model on disk, byte-stable, and fingerprints of its weights.

``.keras`` files are not byte-identical across identical runs (zip member dates, the
save date, an HDF5 layout that depends on the free memory), so a model is saved as:

- ``model.json``: the architecture and compile settings, ``model.to_json()``;
- ``model.safetensors``: ``model.weights`` in the safetensors layout, in model order:
  an 8-byte little-endian header length, a JSON header mapping each weight's path
  (``conv2d/kernel``) to its ``dtype``, ``shape`` and ``data_offsets`` (padded with
  spaces to a multiple of 8 bytes), then the little-endian C-order bytes of every
  weight, back to back in the same order.

Equal weights give equal bytes. Optimizer state and the dropout seed state are not
kept: :func:`load_model` returns the trained model compiled as it was for training, with
a fresh optimizer.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

import numpy as np

from biorepro.store.layouts import TRAIN

ARCHITECTURE, WEIGHTS = TRAIN.architecture(), TRAIN.weights()

# numpy dtype name -> safetensors dtype
_DTYPES = {"float16": "F16", "float32": "F32", "float64": "F64", "int8": "I8", "int16": "I16",
           "int32": "I32", "int64": "I64", "uint8": "U8", "uint16": "U16", "uint32": "U32",
           "uint64": "U64", "bool": "BOOL"}
_NUMPY = {v: k for k, v in _DTYPES.items()}

Weights = list[tuple[str, np.ndarray]]


def model_weights(model) -> Weights:
    """``(path, value)`` of every weight of a Keras model, in ``model.weights`` order."""
    return [(w.path, np.asarray(w.numpy())) for w in model.weights]


def fingerprint(weights: Weights) -> str:
    """SHA-256 over every weight in order: name, dtype, shape, then the raw bytes."""
    h = hashlib.sha256()
    for name, value in weights:
        value = np.ascontiguousarray(value)
        h.update(f"{name}|{value.dtype.str}|{value.shape}\n".encode())
        h.update(value.tobytes())
    return h.hexdigest()


def weights_fingerprint(model) -> str:
    """:func:`fingerprint` of a Keras model's weights."""
    return fingerprint(model_weights(model))


def max_abs_diff(a: Weights, b: Weights) -> float:
    """Largest absolute difference between corresponding weights (inf if names or shapes
    differ)."""
    if [n for n, _ in a] != [n for n, _ in b]:
        return float("inf")
    worst = 0.0
    for (_, va), (_, vb) in zip(a, b):
        if va.shape != vb.shape:
            return float("inf")
        if va.size:
            worst = max(worst, float(np.max(np.abs(va.astype(np.float64) - vb))))
    return worst


def write_weights(weights: Weights, path: str | os.PathLike) -> Path:
    """Write ``weights`` to a safetensors file (layout in the module docstring)."""
    header, blobs, offset = {}, [], 0
    for name, value in weights:
        if value.dtype.name not in _DTYPES:
            raise ValueError(f"weight {name}: dtype {value.dtype} cannot be saved "
                             f"(supported: {', '.join(_DTYPES)})")
        data = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _DTYPES[value.dtype.name], "shape": list(value.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path = Path(path)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        f.writelines(blobs)
    return path


def read_weights(path: str | os.PathLike) -> Weights:
    """The weights of a safetensors file, in the order of their bytes in the file."""
    raw = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    header.pop("__metadata__", None)
    body = raw[8 + size:]
    out = []
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, end = t["data_offsets"]
        dtype = np.dtype(_NUMPY[t["dtype"]]).newbyteorder("<")
        out.append((name, np.frombuffer(body[begin:end], dtype=dtype).reshape(t["shape"])))
    return out


def save_model(model, folder: str | os.PathLike) -> list[Path]:
    """Write ``model.json`` and ``model.safetensors`` into ``folder``."""
    folder = Path(folder)
    (folder / ARCHITECTURE).write_text(model.to_json(indent=1) + "\n")
    return [folder / ARCHITECTURE, write_weights(model_weights(model), folder / WEIGHTS)]


def load_model(folder: str | os.PathLike):
    """The Keras model saved by :func:`save_model` in ``folder`` (e.g. a train entry)."""
    import keras

    from biorepro.train import model as _layers  # noqa: F401 (registers biorepro's layers)

    folder = Path(folder)
    model = keras.models.model_from_json((folder / ARCHITECTURE).read_text())
    weights = read_weights(folder / WEIGHTS)
    names = [w.path for w in model.weights]
    if names != [n for n, _ in weights]:
        raise ValueError(f"{folder / WEIGHTS}: its weights are not those of the model in "
                         f"{folder / ARCHITECTURE} ({len(weights)} vs {len(names)} weights)")
    model.set_weights([v for _, v in weights])
    return model

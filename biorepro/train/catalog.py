"""What ``train.model`` and ``train.weights`` name, resolved at planning (no TensorFlow).

``train.model`` is either a built-in name (:data:`BUILTIN`) or ``"path/file.py:function"``,
a user's file (relative to the working directory) and a function
``function(input_shape, **model_params)`` returning a Keras model whose output is one
sigmoid unit (P(bona fide)) or two softmax units (index 1 = bona fide).

What enters the training key (:func:`resolve`):

- built-in: its name and its parameters with defaults filled in;
- user file: the function's name and the code fingerprint of the file and of the
  modules of its folder it imports, transitively (docstrings, comments and formatting
  left out, see :mod:`biorepro.store.fingerprint`), with the versions of the packages
  they import, and ``model_params`` as given. The file's path is not in the key (moving
  the folder retrains nothing); the job receives it as a runtime setting and refuses to
  train when the code no longer has the planned fingerprint.
- ``train.weights``: ``none``, or the SHA-256 of the weights file: ``imagenet`` is Keras'
  cached file (``$KERAS_HOME/models/<file>``, ``~/.keras`` by default; never
  downloaded: planning fails naming the file to place there), any other value a path
  to a ``.weights.h5`` / ``.h5`` file of the backbone without its top.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path

from biorepro.errors import Refusal
from biorepro.store.fingerprint import file_fingerprint


class ModelError(Refusal, ValueError):
    """``train.model``, ``train.model_params`` or ``train.weights`` cannot be used."""


@dataclass(frozen=True)
class Builtin:
    """A built-in model: its parameters (with defaults) and, for a ``keras.applications``
    backbone, the application's name, its ``preprocess_input`` mode, the smallest image
    side it accepts and how Keras names its ImageNet no-top weights file."""

    params: dict = field(default_factory=dict)
    application: str | None = None   # keras.applications constructor, None: our own
    preprocess: str = "none"         # tf: [-1, 1]; caffe: BGR minus ImageNet mean; none
    min_size: int = 8
    imagenet_file: str | None = None  # with {alpha} and {rows} for MobileNetV2


# Mobile-size ImageNet weights exist for these input sides; others use the 224 file.
MOBILENET_ROWS = (96, 128, 160, 192, 224)

BUILTIN = {
    "xception_small": Builtin({"widths": [16, 32, 64], "dropout": 0.25}),
    "mobilenet_v2": Builtin(
        {"alpha": 1.0, "dropout": 0.2}, "MobileNetV2", "tf", 32,
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}_no_top.h5"),
    "efficientnet_b0": Builtin({"dropout": 0.2}, "EfficientNetB0", "none", 32,
                               "efficientnetb0_notop.h5"),
    "resnet50": Builtin({"dropout": 0.2}, "ResNet50", "caffe", 32,
                        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "xception": Builtin({"dropout": 0.2}, "Xception", "tf", 71,
                        "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"),
}
WEIGHT_CHOICES = ("none", "imagenet")  # or a path


def keras_home(environ=None) -> Path:
    """Keras' cache folder: ``$KERAS_HOME``, else ``~/.keras`` (as Keras decides)."""
    environ = os.environ if environ is None else environ
    if environ.get("KERAS_HOME"):
        return Path(environ["KERAS_HOME"])
    home = Path(os.path.expanduser("~"))
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


def imagenet_file(name: str, params: dict, image_size: int, environ=None) -> Path:
    """Where Keras keeps the ImageNet no-top weights of built-in ``name``."""
    spec = BUILTIN[name]
    if spec.imagenet_file is None:
        raise ModelError(f"train.weights: imagenet weights exist only for the keras.applications"
                         f" backbones ({', '.join(n for n, b in BUILTIN.items() if b.application)}"
                         f"), not for {name}")
    rows = image_size if image_size in MOBILENET_ROWS else 224
    fname = spec.imagenet_file.format(alpha=float(params.get("alpha", 1.0)), rows=rows)
    return keras_home(environ) / "models" / fname


@dataclass(frozen=True)
class ModelRef:
    """A user model: the file and the function named by ``train.model``."""

    path: Path
    function: str


def parse_model(value: str, workdir: Path) -> str | ModelRef:
    """A built-in name, or the :class:`ModelRef` of ``"file.py:function"``."""
    if value in BUILTIN:
        return value
    file, sep, function = value.rpartition(":")
    if not sep or not file.endswith(".py") or not function.isidentifier():
        raise ModelError(f"train.model: {value!r} is neither a built-in model "
                         f"({', '.join(BUILTIN)}) nor 'path/to/file.py:function'")
    return ModelRef((workdir / file).resolve(), function)


def check_function(ref: ModelRef, model_params: dict) -> None:
    """Fail unless ``ref.path`` defines ``ref.function`` at top level, taking the input
    shape and every key of ``model_params`` (read from the source, nothing imported)."""
    if not ref.path.is_file():
        raise ModelError(f"train.model: file {ref.path} does not exist (paths are relative to "
                         "the working directory)")
    try:
        tree = ast.parse(ref.path.read_text(), filename=str(ref.path))
    except SyntaxError as err:
        raise ModelError(f"train.model: {ref.path} line {err.lineno}: {err.msg}") from None
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if ref.function not in defs:
        raise ModelError(f"train.model: {ref.path} defines no top-level function "
                         f"{ref.function!r} (it defines: {', '.join(defs) or 'none'})")
    args = defs[ref.function].args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    if not names or args.posonlyargs[1:]:
        raise ModelError(f"train.model: {ref.path}: {ref.function}() must take the input "
                         "shape as its first argument and model_params as keywords")
    unknown = sorted(set(model_params) - set(names[1:]))
    if unknown and args.kwarg is None:
        raise ModelError(f"train.model_params: {', '.join(unknown)} not accepted by "
                         f"{ref.function}() in {ref.path} (it takes: "
                         f"{', '.join(names[1:]) or 'only the input shape'}){RESET_HINT}")


# Config files and variants merge mappings key by key: another model's parameters stay.
RESET_HINT = ("; an override or variant that changes train.model can drop the parameters it "
              "inherits with 'model_params: null' before setting its own")


def builtin_params(name: str, model_params: dict) -> dict:
    """``model_params`` over the defaults of built-in ``name``; unknown keys refused."""
    defaults = BUILTIN[name].params
    unknown = sorted(set(model_params) - set(defaults))
    if unknown:
        raise ModelError(f"train.model_params: {', '.join(unknown)} not a parameter of "
                         f"{name} (it takes: {', '.join(defaults)}){RESET_HINT}")
    return {**defaults, **model_params}


def check_backend(model: dict, backend: str, where: str) -> None:
    """Refuse a user's model file whose code imports a framework other than Keras'
    ``backend`` (``model``: the key part of :func:`resolve`): TensorFlow ops do not run
    on JAX arrays, nor JAX ops on TensorFlow tensors."""
    other = {"jax": "tensorflow", "tensorflow": "jax"}[backend]
    if other in model.get("versions", {}):
        raise ModelError(f"train.model: {where} imports {other}, but train.backend is "
                         f"{backend}: a model built with {other} operations runs on the "
                         f"{other} backend only. Use keras.ops and keras.layers (they run on "
                         f"both), or set train.backend: {other}")


def resolve(train: dict, image_size: int, digest, workdir: Path = Path(".")) -> tuple[dict, dict]:
    """``(key part, runtime part)`` of the ``train`` config section: what the model and
    weights settings contribute to the key, and the files the job reads.
    ``digest(path)`` gives a file's SHA-256 (a stat cache at planning)."""
    ref = parse_model(train["model"], workdir)
    weights, given = train["weights"], train["model_params"] or {}
    if isinstance(ref, str):
        params = builtin_params(ref, given)
        spec = BUILTIN[ref]
        if image_size < spec.min_size:
            raise ModelError(f"tensors.image_size: {image_size} px is below the {spec.min_size} "
                             f"px that train.model {ref} accepts")
        model = {"builtin": ref}
    else:
        check_function(ref, given)
        params = dict(given)
        fp = file_fingerprint(ref.path)
        model = {"function": ref.function, "code": fp.as_dict(), "versions": fp.versions()}
    runtime = {"model_file": None if isinstance(ref, str) else str(ref.path),
               "weights_file": None}
    if weights == "none":
        key_weights = {"source": "none"}
    else:
        if weights == "imagenet":
            if not isinstance(ref, str):
                raise ModelError("train.weights: imagenet applies to the built-in "
                                 "keras.applications backbones; a user model loads its own")
            path = imagenet_file(ref, params, image_size)
            if not path.is_file():
                raise ModelError(
                    f"train.weights: imagenet needs Keras' weights file {path}, which is not "
                    "there and is never downloaded during a run: place the file there (from "
                    "a machine with internet: keras.applications."
                    f"{BUILTIN[ref].application}(include_top=False, weights='imagenet')), or "
                    "set train.weights to a weights file or to none")
        else:
            path = (workdir / weights).resolve()
            if not path.is_file():
                raise ModelError(f"train.weights: file {path} does not exist (none, imagenet, "
                                 "or a path relative to the working directory)")
        key_weights = {"source": "imagenet" if weights == "imagenet" else "file",
                       "sha256": digest(path)}
        runtime["weights_file"] = str(path)
    return {"model": model, "model_params": params, "weights": key_weights}, runtime

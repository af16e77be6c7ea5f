"""TensorFlow ops that op determinism refuses on a GPU, found before training.

Under ``train.determinism: strict`` the job calls ``enable_op_determinism()``. On a GPU, an op
with no deterministic GPU kernel then raises ``tf.errors.UnimplementedError`` when it first
runs; on the CPU the same ops are deterministic and never raise, so no CPU run reveals them.
:func:`nondeterministic_ops` traces the model's training step (forward and backward pass,
nested functions included) into a graph on the CPU, without running it, and looks each op
type up in :data:`GPU_NONDETERMINISTIC`; :func:`explain_unimplemented` names the op and the
layer of such an error raised at run time.

The op list: NVIDIA framework-reproducibility ``doc/d9m/tensorflow_status.md`` (sources
marked "NO"), checked against the messages TensorFlow 2.21 raises (the
``errors::Unimplemented`` guarded by ``OpDeterminismRequired()`` in its kernels, all found in
``libtensorflow_cc.so.2``). Not listed: ops that op determinism makes deterministic instead
(scatter-nd, run on the CPU; segment reductions; cuDNN convolution and pooling backprop;
depthwise-convolution filter backprop with cuDNN >= 7.6.3), and scatter into reference
variables (TF1 only).

Keras 3.15 (TF backend), unlike tf.keras 2, keeps its usual image layers off these kernels:
``UpSampling2D`` with ``'nearest'`` repeats pixels (``ops.repeat``) and
``BatchNormalization`` uses unfused ops, frozen or not. ``Resizing`` and
``ops.image.resize`` with ``'nearest'`` reach ``ResizeNearestNeighborGrad``, and
``ops.bincount`` (``CategoryEncoding`` counts) ``DenseBincount``.

A layer is named by its path below the model (``backbone/conv1_bn``), found from the name
scope each layer's ``call`` ran in while tracing; ``'?'`` where an op is outside any layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NO_SOLUTION = "TensorFlow has no deterministic GPU kernel for it"
_FUSED_BATCH_NORM = (
    "backprop through fused batch norm in inference mode (is_training=False: fine-tuning "
    "with frozen statistics, as tf.compat.v1.nn.fused_batch_norm or tf.keras 2 "
    "BatchNormalization do); use keras.layers.BatchNormalization (Keras 3: not fused), or "
    "freeze this layer and every layer before it")

# op type -> what uses it and what to do instead.
GPU_NONDETERMINISTIC: dict[str, str] = {
    "ResizeNearestNeighborGrad": (
        "backprop of nearest-neighbour resizing (layers.Resizing / ops.image.resize / "
        "tf.image.resize with 'nearest'); use interpolation='bilinear', "
        "UpSampling2D (it repeats pixels) or Conv2DTranspose"),
    "CropAndResizeGradImage": (
        "backprop to the image of tf.image.crop_and_resize; crop by slicing and resize "
        "bilinearly, or crop before the first trainable layer"),
    "CropAndResizeGradBoxes": (
        "backprop to the boxes of tf.image.crop_and_resize; stop the gradient to the boxes "
        "(tf.stop_gradient)"),
    "AdjustContrastv2": (
        "forward of tf.image.adjust_contrast / random_contrast; compute "
        "(x - mean) * factor + mean with plain ops, as layers.RandomContrast does"),
    "AdjustContrast": "forward of the deprecated AdjustContrast op; as for AdjustContrastv2",
    "Bincount": "tf.math.bincount; count with one_hot and a sum",
    "DenseBincount": "tf.math.bincount / ops.bincount; count with one_hot and a sum",
    "SparseTensorDenseMatMul": "tf.sparse.sparse_dense_matmul; use a dense matmul",
    "FusedBatchNormGradV3": _FUSED_BATCH_NORM,
    "FusedBatchNormGradV2": _FUSED_BATCH_NORM,
    "FusedBatchNormGrad": _FUSED_BATCH_NORM,
    "Dilation2DBackpropInput": "backprop of tf.nn.dilation2d / erosion2d; " + _NO_SOLUTION,
    "Dilation2DBackpropFilter": "backprop of tf.nn.dilation2d / erosion2d; " + _NO_SOLUTION,
    "MaxPoolGradWithArgmax": (
        "backprop of tf.nn.max_pool_with_argmax; use layers.MaxPooling2D (MaxPool, whose "
        "backprop is deterministic)"),
    "FakeQuantWithMinMaxVarsGradient": (
        "backprop of tf.quantization.fake_quant_with_min_max_vars; " + _NO_SOLUTION),
    "FakeQuantWithMinMaxVarsPerChannelGradient": (
        "backprop of tf.quantization.fake_quant_with_min_max_vars_per_channel; "
        + _NO_SOLUTION),
    "Svd": ("tf.linalg.svd, refused for matrices of one column (flagged whatever the "
            "shape); " + _NO_SOLUTION),
    "DebugNumericSummaryV2": (
        "tf.debugging numeric checks in CONCISE_HEALTH / FULL_HEALTH mode; turn the "
        "debugger off"),
}

# Ops refused only in some configurations: op type -> test on the graph's NodeDef.
_ONLY_IF = {
    "FusedBatchNormGradV3": lambda node: not node.attr["is_training"].b,
    "FusedBatchNormGradV2": lambda node: not node.attr["is_training"].b,
    "FusedBatchNormGrad": lambda node: not node.attr["is_training"].b,
    "DebugNumericSummaryV2": lambda node: node.attr["tensor_debug_mode"].i in (3, 4),
}

# Ops TensorFlow 2.21 can refuse that a trace does not flag (see the module docstring).
_OTHER_NOTES = {
    "DepthwiseConv2dNativeBackpropFilter": (
        "backprop to the filter of DepthwiseConv2D / SeparableConv2D; deterministic with "
        "cuDNN >= 7.6.3: install a newer cuDNN"),
}

# Names TensorFlow's messages use where they differ from the op type.
_MESSAGE_OPS = {
    "SparseTensorDenseMatmulOp": "SparseTensorDenseMatMul",
    "CropAndResizeBackpropImage": "CropAndResizeGradImage",
    "CropAndResizeBackpropBoxes": "CropAndResizeGradBoxes",
    "DepthwiseConvBackpropFilter": "DepthwiseConv2dNativeBackpropFilter",
    "SVD": "Svd",
}

# The forms of TensorFlow 2.21's op-determinism errors; group 1 names the op, if any.
_MESSAGES = (
    r"A deterministic GPU implementation of (fused batch-norm backprop)",
    r"A deterministic GPU implementation of (\w+) is not (?:currently )?available",
    r"Deterministic GPU implementation of (\w+) not available",
    r"Deterministic GPU implementation of (?:un)?sorted (segment reduction) op not available",
    r"Determinism is not yet supported in GPU implementation of (\w+)",
    r"Determinism is not yet supported for (\w+)",
)
# What the messages that name no op type refer to, when the error does not name it.
_UNNAMED = {
    "fused batch-norm backprop": "FusedBatchNormGradV3",
    "segment reduction": "segment reduction",
    "Scatter": "Scatter (reference variable)",
}
_NODE = re.compile(r"\{\{node ([^}\s]+)\}\}|Detected at node '?([^'\s]+)'? defined at")
_EAGER_OP = re.compile(r"\[Op:(\w+)\]")


@dataclass(frozen=True)
class Finding:
    """Op type ``op`` that op determinism refuses on a GPU, in layer ``layer``."""

    op: str
    layer: str
    note: str


def _traced_step(model, input_shape):
    """The GraphDef of one training step of ``model`` and the name scope (relative to the
    model's) -> layer path of every layer call in it; each layer's ``call`` is wrapped to
    read its scope, for the trace only."""
    import keras
    import tensorflow as tf

    scopes: dict[str, str] = {}
    stack: list[tuple[str, str]] = []  # (layer name, its name scope) of the calls under way

    def recording(layer):
        call = layer.call

        def wrapped(*args, **kwargs):
            scope = tf.get_current_name_scope()
            if stack:  # a layer of the model: its scope relative to the model's
                path = "/".join([name for name, _ in stack[1:]] + [layer.name])
                scopes.setdefault(scope.removeprefix(stack[0][1] + "/"), path)
            stack.append((layer.name, scope))
            try:
                return call(*args, **kwargs)
            finally:
                stack.pop()
        return wrapped

    layers = list(model._flatten_layers(include_self=True, recursive=True))
    own = {id(layer): layer.__dict__["call"] for layer in layers if "call" in layer.__dict__}
    try:
        for layer in layers:
            object.__setattr__(layer, "call", recording(layer))

        @tf.function(autograph=True, jit_compile=False)
        def step(x, y):
            with tf.GradientTape() as tape:
                y_pred = model(x, training=True)
                loss = keras.ops.mean(keras.losses.binary_crossentropy(y, y_pred))
            return tape.gradient(loss, model.trainable_weights)

        concrete = step.get_concrete_function(
            tf.TensorSpec((None, *input_shape), tf.float32), tf.TensorSpec((None, 1), tf.float32))
    finally:
        for layer in layers:
            if id(layer) in own:
                object.__setattr__(layer, "call", own[id(layer)])
            elif "call" in layer.__dict__:
                object.__delattr__(layer, "call")
    return concrete.graph.as_graph_def(), scopes


def _called_functions(node):
    """Names of the functions a NodeDef calls (PartitionedCall, While, If, Case...)."""
    for value in node.attr.values():
        if value.HasField("func"):
            yield value.func.name
        if value.HasField("list"):
            yield from (f.name for f in value.list.func)


def _nodes(graph_def):
    """(NodeDef, name) of every node of ``graph_def`` and of the functions of its library;
    a function's nodes are named below the node that calls it."""
    library = {f.signature.name: f for f in graph_def.library.function}
    found, reached = [], set()

    def walk(nodes, prefix, calling):
        for node in nodes:
            name = prefix + node.name
            found.append((node, name))
            for function in _called_functions(node):
                if function in library and function not in calling:
                    reached.add(function)
                    walk(library[function].node_def, name + "/", calling | {function})

    walk(graph_def.node, "", frozenset())
    for function in library.keys() - reached:
        walk(library[function].node_def, function + "/", frozenset({function}))
    return found


def train_step_ops(model, input_shape) -> list[tuple[str, str]]:
    """(op type, node name) of every op of a training step of ``model`` on float32 inputs
    of shape (None, *input_shape) and labels (None, 1): binary cross-entropy, forward and
    gradient w.r.t. the trainable weights, ops of nested functions included."""
    graph_def, _ = _traced_step(model, tuple(input_shape))
    return [(node.op, name) for node, name in _nodes(graph_def)]


def _layer_of(node_name: str, scopes: dict[str, str]) -> str:
    """The layer path of the longest layer scope in ``node_name``, '?' if none. Scopes are
    matched anywhere in the name (a nested function's nodes are named below their caller;
    the model's own scope may be numbered differently in another trace); gradient ops lie
    in ``gradient_tape/`` + the scope of the op they differentiate."""
    parts = [p for p in node_name.split("/") if p != "gradient_tape"]
    best, best_length = "?", 0
    for start in range(len(parts)):
        for end in range(len(parts), start + best_length, -1):
            layer = scopes.get("/".join(parts[start:end]))
            if layer:
                best, best_length = layer, end - start
                break
    return best


def _findings(pairs) -> list[Finding]:
    """One Finding per (op, layer) of ``pairs``, in order of first appearance."""
    seen = dict.fromkeys((op, layer) for op, layer in pairs)
    notes = {**_OTHER_NOTES, **GPU_NONDETERMINISTIC}
    return [Finding(op, layer, notes.get(op, _NO_SOLUTION)) for op, layer in seen]


def _refused(node) -> bool:
    """Whether op determinism refuses the NodeDef ``node`` on a GPU."""
    only_if = _ONLY_IF.get(node.op)
    return node.op in GPU_NONDETERMINISTIC and (only_if is None or only_if(node))


def nondeterministic_ops(model, input_shape) -> list[Finding]:
    """The ops of a training step of ``model`` (see :func:`train_step_ops`) that op
    determinism refuses on a GPU, one Finding per (op, layer)."""
    graph_def, scopes = _traced_step(model, tuple(input_shape))
    return _findings(
        (node.op, _layer_of(name, scopes)) for node, name in _nodes(graph_def)
        if _refused(node))


def describe(findings: list[Finding]) -> str:
    """One error paragraph about ``findings`` (empty string when there are none)."""
    if not findings:
        return ""
    where = "; ".join(f"op {f.op} in layer {f.layer}: {f.note}" for f in findings)
    return ("train.determinism: strict cannot train this model on a GPU: op determinism "
            f"has no deterministic GPU kernel for {where}. Use another layer as noted, or set "
            "`train.determinism: seeded` (its runs are then not bit-reproducible on a GPU: "
            "provenance records them as not deterministic, and `verify` may find them differ).")


def _message_op(error_message: str) -> str | None:
    """The op an op-determinism error message names (None if it is not one); the
    messages that name no op type give what they say instead."""
    for pattern in _MESSAGES:
        match = re.search(pattern, error_message)
        if match:
            return _MESSAGE_OPS.get(match.group(1), match.group(1))
    return None


def explain_unimplemented(error_message: str, model) -> str | None:
    """:func:`describe` for the text of a ``tf.errors.UnimplementedError`` raised under
    op determinism, naming its op and the layer of its node in ``model`` (traced on its
    input shape); None if the text is not such an error."""
    op = _message_op(error_message)
    if op is None:
        return None
    nodes = [a or b for a, b in _NODE.findall(error_message)]
    node = nodes[-1] if nodes else ""
    if op in _UNNAMED:  # the op type from the node's name or an eager error's [Op:...]
        eager = [name for name in _EAGER_OP.findall(error_message) if not name.startswith("__")]
        named = re.sub(r"_\d+$", "", node.rsplit("/", 1)[-1]) if node else None
        op = next((n for n in (named, *eager) if n and n[0].isupper() and n.isidentifier()),
                  _UNNAMED[op])
    layer = "?"
    if node:
        try:
            _, scopes = _traced_step(model, tuple(model.inputs[0].shape[1:]))
        except Exception:  # no known input shape: the op without its layer
            scopes = {}
        layer = _layer_of(node, scopes)
    return describe(_findings([(op, layer)]))

"""Ops that op determinism refuses on a GPU, found by tracing a training step on the CPU:
which layers reach them under TF 2.21 + Keras 3.15, layer names, error messages."""

import keras
import pytest
import tensorflow as tf
from keras import layers

from biorepro.train import kernels
from biorepro.train import model as models
from biorepro.train.augment import augmentation
from biorepro.train.fit import backbone_of, freeze

SHAPE = (8, 8, 3)


def with_head(body, shape=SHAPE, name=None) -> keras.Model:
    """``body`` on an input of ``shape``, then global pooling and a sigmoid unit."""
    inputs = keras.Input(shape)
    x = layers.GlobalAveragePooling2D()(body(inputs))
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x), name=name)


def ops_of(findings):
    return {(f.op, f.layer) for f in findings}


class FusedBatchNorm(layers.Layer):
    """Batch norm through TF's fused kernel (as tf.keras 2 ran it), with its moving
    statistics in inference mode unless ``is_training``."""

    def __init__(self, is_training=False, **kwargs):
        super().__init__(**kwargs)
        self.is_training = is_training

    def build(self, shape):
        channels = (shape[-1],)
        self.gamma = self.add_weight(shape=channels, initializer="ones")
        self.beta = self.add_weight(shape=channels, initializer="zeros")
        self.mean = self.add_weight(shape=channels, initializer="zeros", trainable=False)
        self.var = self.add_weight(shape=channels, initializer="ones", trainable=False)

    def call(self, x):
        if self.is_training:
            return tf.compat.v1.nn.fused_batch_norm(x, self.gamma, self.beta,
                                                    is_training=True)[0]
        return tf.compat.v1.nn.fused_batch_norm(x, self.gamma, self.beta, self.mean, self.var,
                                                is_training=False)[0]


class CondResize(layers.Layer):
    """Nearest or bilinear resizing chosen by a tf.cond: the resize, and its gradient,
    live in the branch functions of an If op, not in the step's own graph."""

    def call(self, x):
        return tf.cond(tf.reduce_sum(x) > 0,
                       lambda: tf.image.resize(x, (16, 16), method="nearest"),
                       lambda: tf.image.resize(x, (16, 16), method="bilinear"))


def test_nearest_resizing_is_found_in_its_layer():
    model = with_head(lambda x: layers.Resizing(16, 16, interpolation="nearest",
                                                name="upsize")(layers.Conv2D(4, 3)(x)))
    [finding] = kernels.nondeterministic_ops(model, SHAPE)
    assert (finding.op, finding.layer) == ("ResizeNearestNeighborGrad", "upsize")
    assert "bilinear" in finding.note
    assert not any("call" in vars(layer) for layer in model._flatten_layers())  # unwrapped
    assert model(tf.zeros((2, *SHAPE))).shape == (2, 1)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_upsampling2d_is_deterministic_in_keras3(interpolation):
    """Keras 3 UpSampling2D 'nearest' repeats pixels (ops.repeat, whose gradient is a sum)
    instead of tf.image.resize: unlike tf.keras 2, it never reaches the nearest-neighbour
    resize kernels; 'bilinear' resizes, with a deterministic gradient."""
    model = with_head(lambda x: layers.UpSampling2D(interpolation=interpolation)(
        layers.Conv2D(4, 3)(x)))
    types = {op for op, _ in kernels.train_step_ops(model, SHAPE)}
    assert not types & {"ResizeNearestNeighbor", "ResizeNearestNeighborGrad"}
    assert ("ResizeBilinearGrad" in types) == (interpolation == "bilinear")
    assert kernels.nondeterministic_ops(model, SHAPE) == []


def test_plain_convolutional_model_has_no_finding():
    def body(x):
        x = layers.Conv2D(4, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Conv2D(4, 3, padding="same")(x)
        return layers.Dense(4)(x)

    assert kernels.nondeterministic_ops(with_head(body), SHAPE) == []


def frozen_bn_backbone(bn=layers.BatchNormalization) -> keras.Model:
    """A trainable head on a nested 'backbone' whose batch norms are frozen, called with
    training=False (the Keras fine-tuning recipe); its convolutions stay trainable."""
    inputs = keras.Input(SHAPE)
    x = layers.Conv2D(4, 3, padding="same", name="conv1")(inputs)
    x = bn(name="bn1")(x)
    x = layers.Conv2D(4, 3, padding="same", name="conv2")(layers.ReLU()(x))
    backbone = keras.Model(inputs, bn(name="bn2")(x), name="backbone")
    for layer in backbone.layers:
        if layer.name.startswith("bn"):
            layer.trainable = False
    return with_head(lambda x: backbone(x, training=False))


def test_frozen_keras3_batchnorm_reaches_no_fused_kernel():
    """Keras 3 BatchNormalization (TF backend) computes with unfused ops (moments,
    Rsqrt, Mul, Add): the backprop through the frozen BNs into the backbone's trainable
    convolutions exists, but FusedBatchNormGradV3 (is_training=False), which op
    determinism refuses on a GPU, does not appear, so there is no finding."""
    model = frozen_bn_backbone()
    ops = kernels.train_step_ops(model, SHAPE)
    types = {op for op, _ in ops}
    assert not any(op.startswith("FusedBatchNorm") for op in types)
    assert any(op == "Rsqrt" and "/bn1" in name for op, name in ops)
    assert any(op == "Conv2DBackpropFilter" and "/conv1" in name for op, name in ops)
    assert kernels.nondeterministic_ops(model, SHAPE) == []


def test_fused_batchnorm_backprop_in_inference_mode_is_found():
    """The fused kernel (tf.keras 2's BatchNormalization) is refused only when its
    backprop runs with is_training=False; the layer path names the nested model."""
    model = frozen_bn_backbone(FusedBatchNorm)
    assert ops_of(kernels.nondeterministic_ops(model, SHAPE)) == {
        ("FusedBatchNormGradV3", "backbone/bn1"), ("FusedBatchNormGradV3", "backbone/bn2")}
    training = with_head(lambda x: FusedBatchNorm(True)(layers.Conv2D(4, 3)(x)))
    assert "FusedBatchNormGradV3" in {op for op, _ in kernels.train_step_ops(training, SHAPE)}
    assert kernels.nondeterministic_ops(training, SHAPE) == []


def test_ops_inside_nested_functions_are_found():
    model = with_head(lambda x: CondResize(name="cond_resize")(layers.Conv2D(4, 3)(x)))
    [name] = [n for op, n in kernels.train_step_ops(model, SHAPE)
              if op == "ResizeNearestNeighborGrad"]
    assert "StatelessIf/" in name  # in a branch function, named below its If node
    assert ops_of(kernels.nondeterministic_ops(model, SHAPE)) == {
        ("ResizeNearestNeighborGrad", "cond_resize")}


def test_builtin_model_and_augmentation_have_no_finding():
    """xception_small, and every augmentation of train.augment (RandomContrast computes
    with plain ops, not AdjustContrastv2)."""
    assert kernels.nondeterministic_ops(models.xception_small((32, 32, 3), widths=(8, 16)),
                                        (32, 32, 3)) == []
    augment = augmentation({"flip": True, "rotation": 0.1, "zoom": 0.1, "translation": 0.1,
                            "brightness": 0.1, "contrast": 0.2}, seed=1)
    model = with_head(lambda x: layers.Conv2D(4, 3)(augment(x)), (16, 16, 3))
    assert kernels.nondeterministic_ops(model, (16, 16, 3)) == []


def test_depthwise_filter_backprop_is_traced_but_not_refused():
    """DepthwiseConv2D's filter backprop is deterministic on GPU since TF 2.10 with
    cuDNN >= 7.6.3 (TF 2.21 wheels need cuDNN 9): present, not a finding."""
    model = with_head(lambda x: layers.DepthwiseConv2D(3)(x))
    assert "DepthwiseConv2dNativeBackpropFilter" in {
        op for op, _ in kernels.train_step_ops(model, SHAPE)}
    assert kernels.nondeterministic_ops(model, SHAPE) == []


def test_mobilenet_v2_backbone_fine_tuned_has_no_finding():
    """The built-in MobileNetV2 model (keras.applications.MobileNetV2 without its top,
    named 'backbone', called with training=False, and a sigmoid head) fine-tuned as
    train.finetune does it: every backbone layer trainable but its BatchNorms. Its
    kernels (Conv2D, DepthwiseConv2D, unfused Keras 3 BatchNormalization, ReLU6,
    ZeroPadding2D, Add) all have deterministic GPU versions: nothing is found."""
    model = models.pretrained("mobilenet_v2", (32, 32, 3))
    freeze(backbone_of(model), "all")
    assert any(w.path.startswith("Conv1/") for w in model.trainable_weights)
    assert not any("_BN/" in w.path for w in model.trainable_weights)
    assert kernels.nondeterministic_ops(model, (32, 32, 3)) == []


def test_describe_names_op_layer_and_the_way_out():
    text = kernels.describe([kernels.Finding("ResizeNearestNeighborGrad", "upsize", "note")])
    assert "op ResizeNearestNeighborGrad in layer upsize: note" in text
    assert "train.determinism: seeded" in text and "not bit-reproducible" in text
    assert kernels.describe([]) == ""


GRAPH_ERROR = (
    "Graph execution error:\n\nDetected at node {node} defined at (most recent call last):\n"
    '  File "/work/scripts/train.py", line 40, in <module>\n\n'
    '  File "/work/.venv/lib/python3.11/site-packages/keras/src/backend/tensorflow/'
    'trainer.py", line 113, in one_step_on_data\n\n'
    "{message}\n\t [[{{{{node {node}}}}}]] [Op:__inference_multi_step_on_iterator_1053]")
EAGER_ERROR = ("{{{{function_node __wrapped__{op}_device_/job:localhost/replica:0/task:0/"
               "device:GPU:0}}}} {message} [Op:{op}] name: ")
FUSED = ("A deterministic GPU implementation of fused batch-norm backprop, when training is "
         "disabled, is not currently available.")


def test_explain_graph_errors_names_op_and_layer():
    """Keras fit numbers the scopes of its own trace (here net_7, not net_1): layers are
    matched below the model's scope."""
    model = with_head(lambda x: layers.Resizing(16, 16, interpolation="nearest",
                                                name="upsize")(layers.Conv2D(4, 3)(x)),
                      name="net")
    node = "gradient_tape/net_7/upsize_1/resize/ResizeNearestNeighborGrad"
    text = kernels.explain_unimplemented(GRAPH_ERROR.format(node=node, message=(
        "A deterministic GPU implementation of ResizeNearestNeighborGrad is not currently "
        "available.")), model)
    assert "op ResizeNearestNeighborGrad in layer upsize:" in text
    assert "train.determinism: seeded" in text
    fused = frozen_bn_backbone(FusedBatchNorm)
    node = "gradient_tape/functional_3/backbone_1/bn2_1/FusedBatchNormGradV3"
    text = kernels.explain_unimplemented(GRAPH_ERROR.format(node=node, message=FUSED), fused)
    assert "op FusedBatchNormGradV3 in layer backbone/bn2:" in text


@pytest.mark.parametrize("op, message, expected", [
    ("AdjustContrastv2", "A deterministic GPU implementation of AdjustContrastv2 is not "
     "currently available.", "AdjustContrastv2"),
    ("FusedBatchNormGradV3", FUSED, "FusedBatchNormGradV3"),
    ("DenseBincount", "Determinism is not yet supported in GPU implementation of "
     "DenseBincount.", "DenseBincount"),
    ("CropAndResizeGradImage", "Deterministic GPU implementation of "
     "CropAndResizeBackpropImage not available.", "CropAndResizeGradImage"),
    ("SparseTensorDenseMatMul", "A deterministic GPU implementation of "
     "SparseTensorDenseMatmulOp is not currently available.", "SparseTensorDenseMatMul"),
])
def test_explain_eager_errors_names_the_op(op, message, expected):
    model = with_head(lambda x: layers.Conv2D(4, 3)(x))
    text = kernels.explain_unimplemented(EAGER_ERROR.format(op=op, message=message), model)
    assert f"op {expected} in layer ?: " in text
    assert kernels.GPU_NONDETERMINISTIC[expected] in text


@pytest.mark.parametrize("message", [
    "DNN library is not found.",
    GRAPH_ERROR.format(node="net_1/bad_1/CheckNumerics", message="boom : Tensor had NaN values"),
    "Random ops require a seed to be set when determinism is enabled. Please set a seed "
    "before running the op, e.g. by calling tf.random.set_seed(1).",
])
def test_explain_ignores_other_errors(message):
    assert kernels.explain_unimplemented(message, with_head(lambda x: x)) is None

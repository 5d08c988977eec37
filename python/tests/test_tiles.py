"""TileTensor operators against numpy, on the mock and on native CKKS."""

import numpy as np
import pytest

import hetile
from conftest import SMALL_PARAMS


@pytest.fixture(scope="module", params=["mock", "native"])
def client(request):
    return hetile.Client.from_params(SMALL_PARAMS, backend=request.param, seed=5)


def tol(client):
    return 1e-6 if client.backend == "mock" else 1e-4


def test_elementwise_ops(client):
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, size=(16, 100))
    b = rng.uniform(-1, 1, size=(16, 100))
    shape = "[16/16, 100/128]"
    ta = hetile.TileTensor.encrypt(client, a, shape)
    tb = hetile.TileTensor.encrypt(client, b, shape)
    assert ta.logical_shape == [16, 100]
    assert ta.num_ciphertexts == 1
    t = tol(client)
    np.testing.assert_allclose((ta + tb).decrypt(client), a + b, atol=t)
    np.testing.assert_allclose((ta - tb).decrypt(client), a - b, atol=t)
    prod = ta * tb
    assert prod.level == ta.level - 1
    np.testing.assert_allclose(prod.decrypt(client), a * b, atol=t)
    np.testing.assert_allclose((ta * 0.5).decrypt(client), a * 0.5, atol=t)
    np.testing.assert_allclose((2.0 * ta).decrypt(client), a * 2.0, atol=t)
    np.testing.assert_allclose((ta + 1.5).decrypt(client), a + 1.5, atol=t)
    np.testing.assert_allclose((1.0 - ta).decrypt(client), 1.0 - a, atol=t)
    np.testing.assert_allclose((-ta).decrypt(client), -a, atol=t)


def test_sum(client):
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, size=(20, 100))
    t = hetile.TileTensor.encrypt(client, a, "[20/8, 100/256]")
    assert t.num_ciphertexts == 3
    s = t.sum(1)
    assert s.shape == "[20/8, 1?/256]"
    np.testing.assert_allclose(s.decrypt(client), a.sum(axis=1, keepdims=True), atol=tol(client) * 100)
    s0 = t.sum(0)
    np.testing.assert_allclose(s0.decrypt(client), a.sum(axis=0, keepdims=True), atol=tol(client) * 100)


def test_matmul(client):
    rng = np.random.default_rng(2)
    a = rng.uniform(-1, 1, size=(3, 5))
    b = rng.uniform(-1, 1, size=(5, 2))
    # SumMiddle layout: A as [a, b, *], B as [*, b, c]
    ta = hetile.TileTensor.encrypt(client, a[:, :, None], "[3/4, 5/8, */64]")
    tb = hetile.TileTensor.encrypt(client, b[None, :, :], "[*/4, 5/8, 2/64]")
    out = ta @ tb
    got = out.decrypt(client)
    assert got.shape == (3, 1, 2)
    np.testing.assert_allclose(got[:, 0, :], a @ b, atol=tol(client) * 10)
    again = ta.matmul(tb, dim=1).decrypt(client)
    np.testing.assert_allclose(again, got, atol=tol(client) * 10)


def test_matmul_needs_one_shared_dim(client):
    a = hetile.TileTensor.encrypt(client, np.ones((4, 512)), "[4/4, 512/512]")
    with pytest.raises(hetile.ShapeError, match="matmul"):
        a @ a


def test_tensors_of_different_backends_do_not_mix():
    m = hetile.Client.from_params(SMALL_PARAMS, backend="mock")
    s = hetile.Client.from_params(SMALL_PARAMS, backend="simulator")
    a = hetile.TileTensor.encrypt(m, np.ones((4, 512)), "[4/4, 512/512]")
    b = hetile.TileTensor.encrypt(s, np.ones((4, 512)), "[4/4, 512/512]")
    with pytest.raises(hetile.SerializationError, match="different backends"):
        a + b
    with pytest.raises(TypeError):
        a + "x"

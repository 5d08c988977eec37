"""ONNX import from layers/tests/models."""

import numpy as np
import pytest

import hetile


def test_load_cryptonets_and_run_on_mock(onnx_dir):
    model = hetile.load_onnx(onnx_dir / "cryptonets.onnx")
    assert model.input_dims == [1, 28, 28]
    assert model.output_dims == [10]
    x = np.random.default_rng(3).uniform(0, 1, size=(2, 1, 28, 28))
    want = model.forward_plain(x)
    assert want.shape == (2, 10)
    plan = hetile.Plan.manual(
        model,
        params={"log_n": 13, "log_q": [60] + [40] * 6, "log_p": [60], "log_scale": 40,
                "security": "insecure"},
        tile=[32, 32, 4],
        batch_size=2,
        threads=1,
    )
    client = hetile.Client(plan, backend="mock", seed=2)
    server = hetile.Server.from_public_context(client.public_context(), plan, model)
    got = client.decrypt(server.predict(client.encrypt(x)))
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_load_with_activation_options(onnx_dir):
    path = str(onnx_dir / "gemm_sigmoid.onnx")
    low = hetile.load_onnx(path, activation_degree=3, activation_range=(-6.0, 6.0))
    high = hetile.load_onnx(path, activation_degree=9, activation_range=(-6.0, 6.0))
    assert "sigmoid" in low.inspect()
    x = np.random.default_rng(0).uniform(-1, 1, size=(8, *low.input_dims))
    err_low = np.max(np.abs(low.forward_plain(x) - low.forward_exact(x)))
    err_high = np.max(np.abs(high.forward_plain(x) - high.forward_exact(x)))
    # a higher Chebyshev degree approximates the sigmoid better
    assert err_high < err_low < 0.1
    # without a range the activation must be calibrated before it can run
    raw = hetile.load_onnx(path, activation_range=None)
    with pytest.raises(hetile.ParameterError, match="calibrate"):
        raw.forward_plain(x)
    np.testing.assert_allclose(raw.calibrate(x).forward_exact(x), low.forward_exact(x))


def test_unsupported_node_is_a_parameter_error(onnx_dir):
    with pytest.raises(hetile.ParameterError, match="MaxPool"):
        hetile.load_onnx(onnx_dir / "maxpool.onnx")


def test_unreadable_file_is_a_serialization_error(tmp_path, onnx_dir):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(hetile.SerializationError):
        hetile.load_onnx(bad)
    with pytest.raises(hetile.SerializationError):
        hetile.load_onnx(tmp_path / "missing.onnx")

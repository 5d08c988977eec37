"""Every exception class raised for a real bad input, with the Rust message."""

import numpy as np
import pytest

import hetile
from conftest import SMALL_PARAMS


def test_hierarchy():
    for cls in (hetile.ParameterError, hetile.LevelError, hetile.ShapeError,
                hetile.KeyError, hetile.SerializationError):
        assert issubclass(cls, hetile.HetileError)
    assert issubclass(hetile.HetileError, Exception)
    # hetile.KeyError is not the builtin KeyError
    assert hetile.KeyError is not KeyError
    assert not issubclass(hetile.KeyError, KeyError)


def test_parameter_error_for_insecure_params(model):
    insecure = dict(SMALL_PARAMS)
    del insecure["security"]  # default: 128-bit, which N = 2^12 with 320 bits cannot reach
    with pytest.raises(hetile.ParameterError, match="insecure parameters"):
        hetile.Plan.manual(model, params=insecure, tile=[16, 16, 8], batch_size=4)


def test_parameter_error_for_bad_arguments(model):
    with pytest.raises(hetile.ParameterError, match="unknown preset"):
        hetile.Plan.manual(model, params="N99", tile=[16, 16, 8])
    with pytest.raises(hetile.ParameterError, match="objective"):
        hetile.optimize(model, objective="speed")
    with pytest.raises(hetile.ParameterError, match="backend"):
        plan = hetile.Plan.manual(model, params=SMALL_PARAMS, tile=[16, 16, 8], batch_size=4)
        hetile.Client(plan, backend="gpu")
    with pytest.raises(hetile.ParameterError, match="slots"):
        hetile.Plan.manual(model, params=SMALL_PARAMS, tile=[16, 16, 4], batch_size=4)


def test_level_error_for_too_short_chain(model, plan, batch):
    short = dict(SMALL_PARAMS, log_q=[60, 40])
    with pytest.raises(hetile.ParameterError, match="levels"):
        hetile.Plan.manual(model, params=short, tile=[16, 16, 8], batch_size=4)
    # two levels: the third product has no level left to rescale into
    client = hetile.Client.from_params(dict(SMALL_PARAMS, log_q=[60, 40, 40]), backend="mock")
    enc = hetile.TileTensor.encrypt(client, np.ones((16, 1, 4)), "[16/16, */16, 4/8]")
    e = enc * enc
    e = e * e
    assert e.level == 0
    with pytest.raises(hetile.LevelError, match="level"):
        e * e


def test_shape_error_for_wrong_input(model, plan):
    client = hetile.Client(plan, backend="mock", seed=1)
    with pytest.raises(hetile.ShapeError):
        client.encrypt(np.zeros((4, 15)))
    with pytest.raises(hetile.ShapeError, match="batch"):
        client.encrypt(np.zeros((9, 16)))
    with pytest.raises(hetile.ShapeError):
        model.forward_plain(np.zeros((2, 3)))
    with pytest.raises(hetile.ShapeError):
        hetile.Model.sequential([16]).dense(np.zeros((8, 15)))
    with pytest.raises(hetile.ShapeError):
        hetile.TileTensor.encrypt(client, np.zeros((4, 4)), "[4/3, 4/4]")


def test_key_error_for_missing_rotation_key():
    client = hetile.Client.from_params(SMALL_PARAMS, rotations=[], backend="mock")
    t = hetile.TileTensor.encrypt(client, np.ones((4, 512)), "[4/4, 512/512]")
    with pytest.raises(hetile.KeyError, match="rotation key"):
        t.sum(1)
    client = hetile.Client.from_params(SMALL_PARAMS, relinearization=False, backend="native", seed=2)
    t = hetile.TileTensor.encrypt(client, np.ones((4, 512)), "[4/4, 512/512]")
    with pytest.raises(hetile.KeyError, match="relinearization"):
        t * t


def test_key_error_when_context_lacks_plan_keys(model, plan):
    bare = hetile.Client.from_params(SMALL_PARAMS, rotations=[], backend="mock")
    with pytest.raises(hetile.KeyError):
        hetile.Server.from_public_context(bare.public_context(), plan, model)


def test_serialization_errors(model, plan, batch):
    client = hetile.Client(plan, backend="native", seed=9)
    server = hetile.Server.from_public_context(client.public_context(), plan, model)
    enc = client.encrypt(batch)
    data = enc.to_bytes()
    # garbage
    with pytest.raises(hetile.SerializationError):
        hetile.EncryptedTensor.from_bytes(b"garbage", server)
    # truncated
    with pytest.raises(hetile.SerializationError):
        hetile.EncryptedTensor.from_bytes(data[: len(data) // 2], server)
    # one flipped byte deep inside a ciphertext
    corrupt = bytearray(data)
    corrupt[len(corrupt) // 2] ^= 0xFF
    try:
        hetile.EncryptedTensor.from_bytes(bytes(corrupt), server)
    except hetile.SerializationError:
        pass
    # another context: other parameters
    other_params = dict(SMALL_PARAMS, log_q=[60, 40, 40, 40, 40, 40, 40])
    other_plan = hetile.Plan.manual(model, params=other_params, tile=[16, 16, 8], batch_size=4)
    other = hetile.Client(other_plan, backend="native", seed=1)
    with pytest.raises(hetile.SerializationError, match="other parameters"):
        hetile.EncryptedTensor.from_bytes(data, other)
    # another backend
    mock = hetile.Client(plan, backend="mock", seed=1)
    with pytest.raises(hetile.SerializationError, match="backend"):
        hetile.EncryptedTensor.from_bytes(data, mock)
    # a public context that is not one
    with pytest.raises(hetile.SerializationError):
        hetile.Server.from_public_context(b"\x00" * 40, plan, model)
    ctx = bytearray(client.public_context())
    with pytest.raises(hetile.SerializationError):
        hetile.Server.from_public_context(bytes(ctx[:100]), plan, model)
    # a plan whose YAML is malformed
    with pytest.raises(hetile.SerializationError):
        hetile.Plan.from_yaml("params: [", model)


def test_context_for_other_plan_is_refused(model, plan):
    other_params = dict(SMALL_PARAMS, log_q=[60, 40, 40, 40, 40, 40, 40])
    other_plan = hetile.Plan.manual(model, params=other_params, tile=[16, 16, 8], batch_size=4)
    client = hetile.Client(other_plan, backend="mock", seed=1)
    with pytest.raises(hetile.ParameterError, match="other parameters"):
        hetile.Server.from_public_context(client.public_context(), plan, model)


def test_plan_for_other_model_is_refused(plan):
    other = hetile.Model.sequential([16]).dense(np.ones((2, 16)))
    with pytest.raises(hetile.ParameterError):
        hetile.Plan.from_yaml(plan.to_yaml(), other)

"""The whole client/server flow on the mock, native CKKS (small insecure ring) and the
simulator, with every object crossing the client/server boundary as bytes."""

import numpy as np
import pytest

import hetile
from conftest import SMALL_PARAMS


def run_flow(model, plan, batch, backend):
    client = hetile.Client(plan, backend=backend, seed=11)
    ctx = client.public_context()
    assert isinstance(ctx, bytes)
    server = hetile.Server.from_public_context(ctx, plan, model)
    enc = client.encrypt(batch)
    # the ciphertexts travel as bytes in both directions
    enc_server = hetile.EncryptedTensor.from_bytes(enc.to_bytes(), server)
    out = server.predict(enc_server)
    out_client = hetile.EncryptedTensor.from_bytes(out.to_bytes(), client)
    return client.decrypt(out_client)


def test_mock_flow_matches_plain(model, plan, batch):
    got = run_flow(model, plan, batch, "mock")
    want = model.forward_plain(batch)
    assert got.shape == (4, 4)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_native_flow_matches_plain(model, plan, batch):
    got = run_flow(model, plan, batch, "native")
    want = model.forward_plain(batch)
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) < 1e-3


def test_simulator_flow_runs_and_gives_zeros(model, plan, batch):
    got = run_flow(model, plan, batch, "simulator")
    assert got.shape == (4, 4)
    assert np.all(got == 0.0)


def test_native_public_context_has_no_secret(model, plan):
    client = hetile.Client(plan, backend="native", seed=3)
    ctx = client.public_context()
    # the server cannot decrypt: it has no decrypt method at all
    server = hetile.Server.from_public_context(ctx, plan, model)
    assert not hasattr(server, "decrypt")
    assert server.backend == "native"
    assert "native" in repr(client)


def test_smaller_batch_is_accepted(model, plan, batch):
    client = hetile.Client(plan, backend="mock", seed=1)
    server = hetile.Server.from_public_context(client.public_context(), plan, model)
    got = client.decrypt(server.predict(client.encrypt(batch[:2])))
    np.testing.assert_allclose(got, model.forward_plain(batch[:2]), atol=1e-6)


def test_progress_bar_runs(model, plan, batch, capsys):
    client = hetile.Client(plan, backend="mock", seed=1, progress=True)
    enc = client.encrypt(batch, progress=True)
    assert enc.num_ciphertexts >= 1
    hetile.set_progress(True)
    try:
        client.encrypt(batch)
    finally:
        hetile.set_progress(False)


def test_plan_yaml_and_json_round_trip(model, plan):
    text = plan.to_yaml()
    again = hetile.Plan.from_yaml(text, model)
    assert again.to_yaml() == text
    assert again.tile == [16, 16, 8]
    assert again.batch_size == 4
    assert again.params["security"] == "insecure"
    j = hetile.Plan.from_json(plan.to_json(), model)
    assert j.rotation_steps == plan.rotation_steps
    assert plan.relinearization is True


def test_simulate_report(plan):
    report = plan.simulate()
    text = repr(report)
    assert "latency" in text and "dense" in text
    d = report.to_dict()
    assert d["depth"] == report.depth > 0
    assert len(d["layers"]) == 3
    assert report.latency_seconds > 0
    assert plan.predicted.to_dict()["depth"] == d["depth"]
    assert "Plan(" in repr(plan)


def test_optimize_secure_plan(model, batch):
    plan = hetile.optimize(model, objective="latency", batch_size=2, threads=1)
    assert plan.params.get("security", "classical128") != "insecure"
    assert plan.batch_size == 2
    assert plan.predicted.latency_seconds > 0
    client = hetile.Client(plan, backend="mock", seed=5)
    server = hetile.Server.from_public_context(client.public_context(), plan, model)
    got = client.decrypt(server.predict(client.encrypt(batch[:2])))
    np.testing.assert_allclose(got, model.forward_plain(batch[:2]), atol=1e-6)


def test_optimize_choose_batch(model):
    plan = hetile.optimize(model, objective="throughput", batch_size="choose", threads=1)
    assert plan.batch_size >= 1
    assert plan.predicted.throughput_per_second > 0


def test_builder_conv_model_on_mock():
    rng = np.random.default_rng(2)
    conv_w = rng.uniform(-0.3, 0.3, size=(2, 1, 3, 3))
    dense_w = rng.uniform(-0.3, 0.3, size=(3, 8))
    model = (
        hetile.Model.sequential([1, 6, 6])
        .conv2d(conv_w, np.zeros(2), 1, 0)
        .square()
        .avg_pool(2, 2)
        .flatten()
        .dense(dense_w, np.zeros(3))
    )
    assert model.output_dims == [3]
    assert "conv2d" in model.inspect() and "conv2d" in repr(model)
    params = dict(SMALL_PARAMS, log_q=[60] + [40] * 6)
    plan = hetile.Plan.manual(model, params=params, tile=[16, 16, 8], batch_size=4, threads=1)
    x = rng.uniform(0, 1, size=(4, 1, 6, 6))
    client = hetile.Client(plan, backend="mock", seed=4)
    server = hetile.Server.from_public_context(client.public_context(), plan, model)
    got = client.decrypt(server.predict(client.encrypt(x)))
    np.testing.assert_allclose(got, model.forward_plain(x), atol=1e-6)


def test_approximated_activation_needs_calibration(batch):
    w1, w2 = np.full((8, 16), 0.05), np.full((2, 8), 0.1)
    raw = hetile.Model.sequential([16]).dense(w1).approx("sigmoid", 3).dense(w2)
    with pytest.raises(hetile.ParameterError, match="calibrate"):
        hetile.Plan.manual(raw, params=SMALL_PARAMS, tile=[16, 16, 8], batch_size=4)
    model = raw.calibrate(batch, margin=0.1)
    plan = hetile.Plan.manual(model, params=dict(SMALL_PARAMS, log_q=[60] + [40] * 8),
                              tile=[16, 16, 8], batch_size=4, threads=1)
    client = hetile.Client(plan, backend="mock", seed=1)
    server = hetile.Server.from_public_context(client.public_context(), plan, model)
    got = client.decrypt(server.predict(client.encrypt(batch)))
    np.testing.assert_allclose(got, model.forward_plain(batch), atol=1e-6)
    # the polynomial is close to the exact sigmoid on the calibrated range
    assert np.max(np.abs(model.forward_exact(batch) - got)) < 0.05


def test_gil_is_released_during_native_work(model):
    import threading
    import time

    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        start = time.perf_counter()
        hetile.optimize(model, objective="throughput", batch_size="choose", threads=1)
        end = time.perf_counter()
    finally:
        stop.set()
        t.join()
    during = [x for x in ticks if start < x < end]
    if end - start > 0.05:
        # with the GIL held for the whole call the ticker could not run at all
        assert len(during) >= 5, (end - start, len(during))

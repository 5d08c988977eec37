"""hetile.distributed: the fraud model on the committed sample through a local Ray instance
(2 CPUs) gives exactly the single-process results, also when a worker process is killed
mid-run; typed errors for memory caps, bad batches and server errors."""

import json
import os
import pathlib
import signal

import numpy as np
import pytest

import hetile

ray = pytest.importorskip("ray")
from hetile import distributed  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
FRAUD_ONNX = ROOT / "tutorials" / "models" / "fraud_mlp.onnx"
FRAUD_JSON = ROOT / "tutorials" / "models" / "fraud_mlp.json"
FRAUD_CSV = ROOT / "tutorials" / "data" / "fraud_test_sample.csv"

# N = 2^12 with the chain the fraud MLP needs: far below 128-bit security (explicit opt-out).
FRAUD_PARAMS = {
    "log_n": 12,
    "log_q": [60] + [40] * 6,
    "log_p": [60],
    "log_scale": 40,
    "security": "insecure",
}
BATCH = 64
SAMPLES = 640  # the first 640 rows of the committed sample: 10 batches


def fraud_inputs(limit=SAMPLES):
    """The committed sample's features (Time, V1..V28, Amount), clipped as the tutorial's
    client does, and the labels."""
    data = np.loadtxt(FRAUD_CSV, delimiter=",", skiprows=1)[:limit]
    meta = json.loads(FRAUD_JSON.read_text())
    x = np.clip(data[:, 1:31], meta["clip_lo"], meta["clip_hi"])
    return x, data[:, 31]


@pytest.fixture(scope="module")
def ray_local():
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=200 * 1024 * 1024,
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def fraud():
    """Model, plan, client, the encrypted batches as bytes, and the single-process outputs."""
    model = hetile.load_onnx(FRAUD_ONNX)
    plan = hetile.Plan.manual(model, params=FRAUD_PARAMS, tile=[4, 8, 64], batch_size=BATCH,
                              threads=1)
    client = hetile.Client(plan, backend="native", seed=5)
    spec = distributed.ServerSpec.create(client.public_context(), plan, FRAUD_ONNX)
    x, _ = fraud_inputs()
    batches = [client.encrypt(x[i:i + BATCH]).to_bytes() for i in range(0, len(x), BATCH)]
    server = hetile.Server.from_public_context(client.public_context(), plan, model)
    single = [
        server.predict(hetile.EncryptedTensor.from_bytes(b, server)).to_bytes() for b in batches
    ]
    return {
        "model": model,
        "plan": plan,
        "client": client,
        "spec": spec,
        "x": x,
        "batches": batches,
        "single": single,
    }


def decrypt_all(client, outputs):
    return np.concatenate([client.decrypt(y).reshape(-1) for y in outputs])


def assert_same_as_single_process(fraud, outputs):
    client = fraud["client"]
    assert len(outputs) == len(fraud["single"])
    got = decrypt_all(client, outputs)
    want = decrypt_all(
        client, [hetile.EncryptedTensor.from_bytes(b, client) for b in fraud["single"]]
    )
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    # the server is deterministic: the ciphertexts are bit-equal
    assert [y.to_bytes() for y in outputs] == fraud["single"]
    # and the encrypted scores are close to the plaintext model
    plain = fraud["model"].forward_plain(fraud["x"]).reshape(-1)
    assert np.max(np.abs(got - plain)) < 1e-2


def test_fraud_on_two_workers_equals_single_process(ray_local, fraud):
    seen = []
    outputs = distributed.run(
        fraud["spec"],
        iter(fraud["batches"]),  # a plain iterator: no length, read lazily
        num_workers=2,
        context=fraud["client"],
        progress=seen.append,
    )
    assert_same_as_single_process(fraud, outputs)
    n = len(fraud["batches"])
    assert [p.done for p in seen] == list(range(1, n + 1))
    assert sorted(p.index for p in seen) == list(range(n))
    assert seen[-1].total == n and seen[-1].retries == 0


def test_killed_worker_mid_run_loses_and_duplicates_nothing(ray_local, fraud):
    with distributed.RayInference(fraud["spec"], num_workers=2, max_retries=3) as pool:
        pids = pool.worker_pids()
        assert len(set(pids)) == 2
        killed = []

        def kill_first_worker(p):
            if not killed:
                # worker 0 has batches queued and running: kill its process outright
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        outputs = pool.run(fraud["batches"], context=fraud["client"],
                           progress=kill_first_worker)
        stats = pool.stats
        assert killed
        assert stats.retries >= 1, stats
        assert stats.batches == len(fraud["batches"])
        assert stats.duplicates_discarded == 0
        assert sorted(stats.worker_pids) == list(range(len(fraud["batches"])))
        assert all(a >= 2 for a in stats.attempts.values()) and stats.attempts
        # the killed process ran nothing after its death; worker 0 was restarted
        new_pids = pool.worker_pids()
        assert new_pids[0] != pids[0]
        assert new_pids[1] == pids[1]
    assert_same_as_single_process(fraud, outputs)


def test_batch_failing_on_every_attempt_raises_after_max_retries(ray_local, fraud):
    # a timeout far below one batch's time: every attempt is declared lost and its worker
    # restarted, so a batch fails 1 + max_retries times and the run stops
    with distributed.RayInference(fraud["spec"], num_workers=1, max_retries=1,
                                  batch_timeout_s=1e-3) as pool:
        with pytest.raises(distributed.WorkerError, match=r"batch [01] failed 2 times"):
            pool.run(fraud["batches"][:2])
        stats = pool.stats
        assert stats.timeouts >= 2 and stats.retries >= 1
        assert set(stats.attempts.values()) == {2}  # never a third attempt with max_retries=1
        assert pool.stats.batches == 0


def test_memory_cap_is_per_worker(ray_local, fraud):
    plan = fraud["plan"]
    peak = plan.predicted.peak_memory_bytes
    assert 0 < peak <= plan.max_memory_bytes
    with pytest.raises(distributed.MemoryCapError, match="per-worker memory cap"):
        distributed.RayInference(fraud["spec"], num_workers=1, worker_memory_bytes=peak - 1)
    # a cap the optimizer recorded: a plan chosen under max_memory carries it
    capped = hetile.optimize(fraud["model"], objective="latency", batch_size=1,
                             max_memory=peak * 64, threads=1)
    assert capped.max_memory_bytes == peak * 64
    assert issubclass(distributed.MemoryCapError, hetile.ParameterError)


def test_server_errors_are_typed_and_not_retried(ray_local, fraud):
    other = hetile.Client(fraud["plan"], backend="mock", seed=1)
    foreign = other.encrypt(fraud["x"][:BATCH]).to_bytes()
    with distributed.RayInference(fraud["spec"], num_workers=1, max_retries=3) as pool:
        with pytest.raises(hetile.SerializationError, match="backend"):
            pool.run([fraud["batches"][0], foreign])
        assert pool.stats.retries == 0
        with pytest.raises(TypeError, match="EncryptedTensor"):
            pool.run([np.zeros(3)])
        # the pool still works after an error, and map yields tensors loaded for the server
        out = list(pool.map([fraud["batches"][1]], progress=True))
        assert out[0].to_bytes() == fraud["single"][1]
        assert pool.stats.batches == 1 and pool.stats.retries == 0
        assert pool.round_trip_seconds(fraud["batches"][0], repeats=3) > 0
    with pytest.raises(distributed.DistributedError, match="closed"):
        pool.run([fraud["batches"][0]])


def test_spec_that_does_not_fit_fails_at_startup(ray_local, fraud):
    # the plan asks for a longer chain than the client's context was made for
    params = dict(FRAUD_PARAMS, log_q=[60] + [40] * 7)
    plan = hetile.Plan.manual(fraud["model"], params=params, tile=[4, 8, 64],
                              batch_size=BATCH, threads=1)
    bad = distributed.ServerSpec.create(fraud["client"].public_context(), plan, FRAUD_ONNX)
    with pytest.raises(hetile.ParameterError, match="other parameters"):
        distributed.RayInference(bad, num_workers=1, startup_timeout_s=60)


def test_load_onnx_accepts_bytes(fraud):
    m = hetile.load_onnx(FRAUD_ONNX.read_bytes())
    x = fraud["x"][:4]
    np.testing.assert_array_equal(m.forward_plain(x), fraud["model"].forward_plain(x))
    with pytest.raises(hetile.SerializationError):
        hetile.load_onnx(b"not an onnx model")

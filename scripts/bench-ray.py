#!/usr/bin/env python3
"""Encrypted fraud scoring on Ray (hetile.distributed): throughput with 1 and N workers and
Ray's overhead per batch. Prints one JSON object.

Also the `--ray` path of the fraud tutorial: the committed sample
(tutorials/data/fraud_test_sample.csv) is clipped and encrypted by the client here, scored by
Ray workers that hold only the public context, decrypted here and compared with the plaintext
model and with a single-process server run (bit-equal ciphertexts).

    python scripts/bench-ray.py                      # local Ray, 1 and 2 workers, secure plan
    python scripts/bench-ray.py --address auto       # an existing cluster (ray start ...)
    python scripts/bench-ray.py --small --limit 640  # N = 2^12 insecure test parameters

Fields: workers (the largest count run), batches, batch_size, seconds (wall time of the
largest run, workers already started), throughput_per_second (samples per second of that run),
speedup (its throughput over the 1-worker run's), ray_overhead_per_batch_seconds (mean round
trip of one batch's ciphertext bytes to a worker and back through Ray, a no-op task), plus
runs (each worker count), the plan, ciphertext sizes, and the check against the single-process
run and the plaintext model, the mean worker seconds per batch of each run and the machine's
load average (on a shared machine the speedup is bounded by the cores actually free).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np
import ray

import hetile
from hetile import distributed

ROOT = pathlib.Path(__file__).resolve().parents[1]
ONNX = ROOT / "tutorials" / "models" / "fraud_mlp.onnx"
META = ROOT / "tutorials" / "models" / "fraud_mlp.json"
CSV = ROOT / "tutorials" / "data" / "fraud_test_sample.csv"

SMALL_PARAMS = {
    "log_n": 12,
    "log_q": [60] + [40] * 6,
    "log_p": [60],
    "log_scale": 40,
    "security": "insecure",
}


def load_sample(limit):
    data = np.loadtxt(CSV, delimiter=",", skiprows=1)
    if limit:
        data = data[:limit]
    meta = json.loads(META.read_text())
    x = np.clip(data[:, 1:31], meta["clip_lo"], meta["clip_hi"])
    return x, data[:, 31] > 0.5


def roc_auc(labels, scores):
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    pos = labels.sum()
    neg = len(labels) - pos
    return float((ranks[labels].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def make_plan(model, args):
    if args.small:
        return hetile.Plan.manual(model, params=SMALL_PARAMS, tile=[4, 8, 64],
                                  batch_size=64, threads=1)
    batch = "choose" if not args.batch_size else args.batch_size
    return hetile.optimize(model, objective="throughput", batch_size=batch, threads=1,
                           max_memory=args.worker_memory, progress=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                    help="worker counts to run (default: 1 2)")
    ap.add_argument("--address", default=None, help="Ray cluster address (default: local)")
    ap.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray instance")
    ap.add_argument("--limit", type=int, default=None, help="first N rows of the sample")
    ap.add_argument("--batch-size", type=int, default=64,
                    help="samples per batch (default 64: 29 batches of the sample; 0 lets the "
                         "optimizer choose, which packs the whole sample into one batch)")
    ap.add_argument("--worker-memory", type=int, default=None,
                    help="per-worker memory cap in bytes, given to the optimizer")
    ap.add_argument("--small", action="store_true", help="N = 2^12 insecure test parameters")
    ap.add_argument("--repeats", type=int, default=20, help="round trips for the overhead")
    args = ap.parse_args()
    hetile.set_progress(False)
    load_start = os.getloadavg()[0]

    if args.address is not None:
        ray.init(address=args.address, log_to_driver=False)
    else:
        ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)

    x, labels = load_sample(args.limit)
    model = hetile.load_onnx(ONNX)
    plan = make_plan(model, args)
    bs = plan.batch_size
    client = hetile.Client(plan, backend="native")
    spec = distributed.ServerSpec.create(client.public_context(), plan, ONNX)

    t = time.perf_counter()
    batches = []
    for i in range(0, len(x), bs):
        chunk = x[i:i + bs]
        if len(chunk) < bs:  # zero-pad the last batch to the planned shape, as the tutorial
            chunk = np.vstack([chunk, np.zeros((bs - len(chunk), x.shape[1]))])
        batches.append(client.encrypt(chunk).to_bytes())
    encrypt_seconds = time.perf_counter() - t

    # the single-process reference: one server in this process, the same bytes
    server = spec.build_server()
    t = time.perf_counter()
    single = [server.predict(hetile.EncryptedTensor.from_bytes(b, server)).to_bytes()
              for b in batches]
    single_seconds = time.perf_counter() - t

    runs = []
    overhead = None
    outputs = None
    for w in args.workers:
        with distributed.RayInference(spec, num_workers=w) as pool:
            pool.run(batches[:w], context=client, progress=False)  # warm every worker
            t = time.perf_counter()
            outputs = pool.run(batches, context=client, progress=False)
            seconds = time.perf_counter() - t
            secs = list(pool.stats.worker_seconds.values())
            cpu = list(pool.stats.worker_cpu_seconds.values())
            retries = pool.stats.retries
            if overhead is None:
                overhead = pool.round_trip_seconds(batches[0], repeats=args.repeats)
            runs.append({
                "workers": w,
                "seconds": seconds,
                # with free cores this stays flat as workers are added; when it grows the
                # workers are competing for CPUs (other load on the machine)
                "mean_worker_seconds_per_batch": sum(secs) / len(secs),
                "mean_worker_cpu_seconds_per_batch": sum(cpu) / len(cpu),
                "throughput_per_second": len(batches) * bs / seconds,
                "retries": retries,
                "bit_equal_to_single_process":
                    [y.to_bytes() for y in outputs] == single,
            })

    scores = np.concatenate([client.decrypt(y).reshape(-1) for y in outputs])[:len(x)]
    plain = model.forward_plain(x).reshape(-1)
    base = runs[0]["throughput_per_second"]
    last = runs[-1]
    report = {
        "workers": last["workers"],
        "batches": len(batches),
        "batch_size": bs,
        "seconds": last["seconds"],
        "throughput_per_second": last["throughput_per_second"],
        "speedup": last["throughput_per_second"] / base if base > 0 else None,
        "ray_overhead_per_batch_seconds": overhead,
        "runs": runs,
        "single_process_seconds": single_seconds,
        "single_process_seconds_per_batch": single_seconds / len(batches),
        "client_encrypt_seconds": encrypt_seconds,
        "request_bytes_per_batch": len(batches[0]),
        "response_bytes_per_batch": len(single[0]),
        "public_context_bytes": len(spec.public_context),
        "plan": {
            "params": plan.params,
            "tile": plan.tile,
            "threads": plan.threads,
            "max_memory_bytes": plan.max_memory_bytes,
            "predicted_peak_memory_bytes": plan.predicted.peak_memory_bytes,
            "predicted_latency_seconds": plan.predicted.latency_seconds,
        },
        "samples": len(x),
        "frauds": int(labels.sum()),
        "max_abs_score_error_vs_plaintext": float(np.max(np.abs(scores - plain))),
        "roc_auc_plaintext": roc_auc(labels, plain),
        "roc_auc_encrypted": roc_auc(labels, scores),
        "cluster_cpus": ray.cluster_resources().get("CPU"),
        "machine_cpus": os.cpu_count(),
        "load_average_1min_at_start_and_end": [load_start, os.getloadavg()[0]],
    }
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    ray.shutdown()
    if not all(r["bit_equal_to_single_process"] for r in runs):
        sys.exit("the Ray outputs differ from the single-process run")


if __name__ == "__main__":
    main()

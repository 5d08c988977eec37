"""Encrypted batch inference on a Ray cluster.

The server side of hetile scaled out: a pool of Ray actors, each holding one ``hetile.Server``
built once from the client's public context, the plan and the model, runs encrypted batches in
parallel. The client side (keys, encryption, decryption) stays where it is::

    import ray, hetile
    from hetile import distributed

    spec = distributed.ServerSpec.create(client.public_context(), plan, "model.onnx")
    outputs = distributed.run(spec, (client.encrypt(b) for b in batches), num_workers=2)
    scores = [client.decrypt(y) for y in outputs]

How it works:

* The ``ServerSpec`` (public context bytes, plan YAML, ONNX model bytes) is put in Ray's object
  store once; every worker (actor) builds its ``hetile.Server`` from that one copy when it starts
  and keeps it for every batch it runs. Nothing secret ever leaves the client: the public context
  holds evaluation keys only.
* Batches travel as ``EncryptedTensor.to_bytes()`` and are loaded on the worker with
  ``EncryptedTensor.from_bytes`` (hetile's own validated format: backend, parameters and shape are
  checked); results come back the same way and are loaded (validated) on the driver.
* Results come back in input order. A batch whose worker dies (process killed, node lost, out of
  memory) is sent again, to another worker or to the restarted one, up to ``max_retries`` more
  times; each batch is accepted exactly once. A ``hetile.HetileError`` raised by the server
  itself (a wrong level, a missing key, bytes of another context) is deterministic and is raised
  at once, not retried.
* The memory cap of the plan (``Plan.max_memory_bytes``, from ``optimize(max_memory=...)``)
  applies per worker: the plan's predicted peak must fit under it (and under
  ``worker_memory_bytes`` when given), else ``MemoryCapError``; each worker reserves its predicted
  peak as Ray's ``memory`` resource so Ray never places more workers on a node than fit.
* Progress: a callable receives a ``Progress`` after every finished batch; ``progress=True``
  shows a bar (tqdm when installed, else a line on stderr); ``None`` follows
  ``hetile.set_progress``.

``ray.init()`` is called for you when Ray is not initialized yet: locally (one machine, the
default) or with ``address=`` of an existing cluster (``"auto"`` or ``"ray://host:10001"``). Ray
is an optional dependency (``pip install ray``), imported only when a run starts.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Deque,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import _progress
from ._native import (
    EncryptedTensor,
    HetileError,
    Model,
    ParameterError,
    Plan,
    Server,
    load_onnx,
)

__all__ = [
    "DistributedError",
    "MemoryCapError",
    "Progress",
    "RayInference",
    "RunStats",
    "ServerSpec",
    "WorkerError",
    "run",
]

BatchLike = Union[EncryptedTensor, bytes, bytearray, memoryview]


class DistributedError(HetileError):
    """Base class of the errors of ``hetile.distributed`` (Ray missing or failing, workers lost)."""


class MemoryCapError(ParameterError):
    """The plan's predicted peak memory does not fit the per-worker memory cap, or the cluster
    has not enough memory for the requested number of workers."""


class WorkerError(DistributedError):
    """A batch could not be run: its worker died more than ``max_retries`` times, every worker
    is dead, or the workers did not start in time."""


def _ray() -> Any:
    """Imports Ray, or raises ``DistributedError`` saying how to install it."""
    try:
        import ray  # type: ignore
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise DistributedError(
            "hetile.distributed needs Ray: pip install 'ray>=2.9'"
        ) from e
    return ray


@dataclass(frozen=True)
class ServerSpec:
    """Everything a worker needs to build its ``hetile.Server``, as plain bytes and text.

    ``public_context``: ``Client.public_context()`` (evaluation keys only, no secret);
    ``plan_yaml``: ``Plan.to_yaml()``; ``model_onnx``: the ONNX model's bytes; the import options
    are those of ``hetile.load_onnx`` and must be the ones the plan was made with. Make one with
    ``ServerSpec.create``. Nothing is validated until ``load_model``/``build_server`` (which
    raise ``SerializationError`` for malformed bytes, ``ParameterError``/``KeyError`` when the
    context, plan and model do not fit together).
    """

    public_context: bytes
    plan_yaml: str
    model_onnx: bytes
    activation_degree: int = 7
    activation_range: Optional[Tuple[float, float]] = (-4.0, 4.0)
    input_shape: Optional[Tuple[int, ...]] = None

    @classmethod
    def create(
        cls,
        public_context: bytes,
        plan: Plan,
        model_onnx: Union[bytes, str, "os.PathLike[str]"],
        *,
        activation_degree: int = 7,
        activation_range: Optional[Tuple[float, float]] = (-4.0, 4.0),
        input_shape: Optional[Sequence[int]] = None,
    ) -> "ServerSpec":
        """A spec from a public context, a plan and the ONNX model (bytes or a file path, read
        now). Raises ``OSError`` for an unreadable file and ``TypeError`` for other types."""
        if isinstance(model_onnx, (bytes, bytearray, memoryview)):
            onnx = bytes(model_onnx)
        elif isinstance(model_onnx, (str, os.PathLike)):
            with open(model_onnx, "rb") as f:
                onnx = f.read()
        else:
            raise TypeError("model_onnx must be bytes or a path")
        if not isinstance(public_context, (bytes, bytearray, memoryview)):
            raise TypeError("public_context must be bytes (Client.public_context())")
        return cls(
            public_context=bytes(public_context),
            plan_yaml=plan.to_yaml(),
            model_onnx=onnx,
            activation_degree=activation_degree,
            activation_range=tuple(activation_range) if activation_range else None,  # type: ignore[arg-type]
            input_shape=tuple(input_shape) if input_shape is not None else None,
        )

    def load_model(self) -> Model:
        """Imports the ONNX bytes with the spec's options (``hetile.load_onnx``)."""
        return load_onnx(
            self.model_onnx,
            activation_degree=self.activation_degree,
            activation_range=self.activation_range,
            input_shape=list(self.input_shape) if self.input_shape is not None else None,
        )

    def load_plan(self, model: Optional[Model] = None) -> Plan:
        """The plan, checked against the model (imported when not given)."""
        return Plan.from_yaml(self.plan_yaml, model if model is not None else self.load_model())

    def build_server(self) -> Server:
        """The ``hetile.Server`` of this spec (what each worker holds)."""
        model = self.load_model()
        return Server.from_public_context(self.public_context, self.load_plan(model), model)


@dataclass(frozen=True)
class Progress:
    """The state of a run after a batch finished: ``done`` batches accepted of ``total``
    (``None`` while the input iterable is not exhausted and has no length), ``retries`` so far,
    ``elapsed_seconds`` since the run started, ``index`` of the batch that just finished."""

    done: int
    total: Optional[int]
    retries: int
    elapsed_seconds: float
    index: int


@dataclass
class RunStats:
    """What the last run measured.

    ``batches``: batches accepted; ``seconds``: wall time of the run; ``retries``: batches sent
    again after a worker failure; ``attempts``: index -> attempts, for batches that needed more
    than one; ``worker_seconds``: index -> seconds the worker spent (load, predict, serialize);
    ``worker_cpu_seconds``: index -> CPU seconds of the worker process meanwhile (below
    ``worker_seconds`` x threads when the machine's cores are busy with other work);
    ``worker_pids``: index -> the pid of the process that ran it; ``duplicates_discarded``:
    results that arrived for a batch already accepted (dropped; expected 0); ``timeouts``:
    workers restarted because a batch outlived ``batch_timeout_s``.
    """

    batches: int = 0
    seconds: float = 0.0
    retries: int = 0
    attempts: Dict[int, int] = field(default_factory=dict)
    worker_seconds: Dict[int, float] = field(default_factory=dict)
    worker_cpu_seconds: Dict[int, float] = field(default_factory=dict)
    worker_pids: Dict[int, int] = field(default_factory=dict)
    duplicates_discarded: int = 0
    timeouts: int = 0

    @property
    def throughput_batches_per_second(self) -> float:
        """Accepted batches per wall-clock second (0 before a run)."""
        return self.batches / self.seconds if self.seconds > 0 else 0.0


class _Worker:
    """The actor body: builds the server once from the shared spec (fetched from the object
    store; the reference comes wrapped in a list so that Ray does not resolve it itself), then
    runs batches. A spec that cannot make a server is kept as the error every call raises, so
    the driver sees the typed ``HetileError`` rather than a dead actor."""

    def __init__(self, spec_ref: List[Any]) -> None:
        import ray  # type: ignore

        from . import set_progress

        set_progress(False)
        self.server: Optional[Server] = None
        self.error: Optional[BaseException] = None
        try:
            self.server = ray.get(spec_ref[0]).build_server()
        except HetileError as e:
            self.error = e

    def _server(self) -> Server:
        if self.server is None:
            raise self.error if self.error is not None else WorkerError("no server")
        return self.server

    def ready(self) -> int:
        """The worker's process id (also a liveness probe); raises the server's build error."""
        self._server()
        return os.getpid()

    def predict(self, index: int, data: bytes) -> Tuple[int, bytes, float, float, int]:
        """Loads (validates) the batch, runs the model, returns the output bytes with the
        wall and CPU seconds it took and the worker's pid."""
        t, c = time.perf_counter(), time.process_time()
        server = self._server()
        x = EncryptedTensor.from_bytes(data, server)
        y = server.predict(x, progress=False)
        out = y.to_bytes()
        return index, out, time.perf_counter() - t, time.process_time() - c, os.getpid()

    def echo(self, index: int, data: bytes) -> Tuple[int, bytes, float, float, int]:
        """Returns ``data`` untouched: measures Ray's round trip of ciphertext bytes."""
        return index, bytes(data), 0.0, 0.0, os.getpid()


class _Bar:
    """A batch counter on stderr or tqdm."""

    def __init__(self, total: Optional[int]) -> None:
        self._tqdm = None
        try:
            from tqdm.auto import tqdm  # type: ignore

            self._tqdm = tqdm(total=total, desc="ray inference", unit="batch", leave=False)
        except Exception:
            self._tqdm = None

    def update(self, p: Progress) -> None:
        if self._tqdm is not None:
            self._tqdm.total = p.total
            self._tqdm.n = p.done
            self._tqdm.refresh()
            return
        total = "?" if p.total is None else str(p.total)
        sys.stderr.write(
            f"\rray inference: {p.done}/{total} batches, {p.retries} retries, "
            f"{p.elapsed_seconds:.1f} s"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
        else:
            sys.stderr.write("\n")
            sys.stderr.flush()


ProgressArg = Union[None, bool, Callable[[Progress], None]]


def _progress_sink(progress: ProgressArg) -> Tuple[Optional[Callable[[Progress], None]], Optional[_Bar]]:
    if callable(progress):
        return progress, None
    show = _progress.enabled() if progress is None else bool(progress)
    return None, (_Bar(None) if show else None)


class RayInference:
    """A pool of Ray workers, each holding a ``hetile.Server`` for one ``ServerSpec``.

    ``num_workers``: actors to start (default: the cluster's CPUs divided by the plan's
    threads, at least 1); each reserves ``plan.threads`` CPUs and, with ``reserve_memory``, the
    plan's predicted peak memory. ``address``: passed to ``ray.init`` when Ray is not initialized
    yet (``None``: a local instance). ``max_retries``: how many times a batch is sent again after
    its worker died. ``worker_memory_bytes``: the memory one worker may use (default: the plan's
    ``max_memory_bytes``). ``queue_depth``: batches queued per worker (2 overlaps transfers with
    compute). ``startup_timeout_s``: how long to wait for the workers to build their servers.
    ``batch_timeout_s``: a batch not back this many seconds after it was sent (time queued
    behind the worker's other batches included, so allow ``queue_depth`` batch times) counts as
    lost: its worker is restarted and its batches are sent again (``None``: wait forever).

    Raises ``MemoryCapError`` when the plan's predicted peak exceeds the per-worker cap or the
    cluster's memory cannot hold ``num_workers`` such workers; ``WorkerError`` when the workers
    do not start; the ``HetileError`` of ``ServerSpec.build_server`` (``SerializationError``,
    ``ParameterError``, ``KeyError``) when the spec's context, plan and model do not fit
    together (raised by the workers, which build the servers); ``ParameterError`` for a bad
    argument. Use as a context manager or call ``close()`` to
    release the workers (Ray itself is left running).
    """

    def __init__(
        self,
        spec: ServerSpec,
        *,
        num_workers: Optional[int] = None,
        address: Optional[str] = None,
        max_retries: int = 3,
        worker_memory_bytes: Optional[int] = None,
        reserve_memory: bool = True,
        queue_depth: int = 2,
        startup_timeout_s: float = 300.0,
        batch_timeout_s: Optional[float] = None,
    ) -> None:
        if max_retries < 0 or queue_depth < 1:
            raise ParameterError("max_retries must be >= 0 and queue_depth >= 1")
        if batch_timeout_s is not None and not batch_timeout_s > 0:
            raise ParameterError(f"batch_timeout_s must be positive, got {batch_timeout_s}")
        if num_workers is not None and num_workers < 1:
            raise ParameterError(f"num_workers must be at least 1, got {num_workers}")
        ray = _ray()
        self._ray = ray
        model = spec.load_model()
        plan = spec.load_plan(model)
        self.plan = plan
        self.peak_memory_bytes = int(plan.predicted.peak_memory_bytes)
        cap = int(plan.max_memory_bytes)
        if worker_memory_bytes is not None:
            cap = min(cap, int(worker_memory_bytes))
        self.memory_cap_bytes = cap
        if self.peak_memory_bytes > cap:
            raise MemoryCapError(
                f"the plan's predicted peak of {self.peak_memory_bytes} bytes exceeds the "
                f"per-worker memory cap of {cap} bytes: re-plan with "
                f"hetile.optimize(..., max_memory={cap}) or give each worker more memory"
            )
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        threads = max(1, int(plan.threads))
        cpus = int(ray.cluster_resources().get("CPU", 1))
        if num_workers is None:
            num_workers = max(1, cpus // threads)
        elif num_workers * threads > cpus:
            # Ray would keep the extra workers pending forever (each reserves the plan's threads)
            raise ParameterError(
                f"{num_workers} workers of {threads} threads need {num_workers * threads} CPUs "
                f"but the cluster has {cpus}: plan with hetile.optimize(..., threads=1) or start "
                f"fewer workers"
            )
        if reserve_memory:
            have = float(ray.cluster_resources().get("memory", 0.0))
            need = float(num_workers) * max(self.peak_memory_bytes, 1)
            if have and need > have:
                raise MemoryCapError(
                    f"{num_workers} workers need {need:.0f} bytes (predicted peak "
                    f"{self.peak_memory_bytes} each) but the cluster has {have:.0f}"
                )
        self.num_workers = int(num_workers)
        self.max_retries = int(max_retries)
        self.queue_depth = int(queue_depth)
        self.batch_timeout_s = batch_timeout_s
        self.stats = RunStats()
        options: Dict[str, Any] = {
            "num_cpus": threads,
            "max_restarts": -1,
            "max_task_retries": 0,
            "max_concurrency": 1,
        }
        if reserve_memory:
            options["memory"] = max(self.peak_memory_bytes, 1)
        self._spec_ref = ray.put(spec)
        cls = ray.remote(_Worker).options(**options)
        self._actors = [cls.remote([self._spec_ref]) for _ in range(self.num_workers)]
        self._dead = [False] * self.num_workers
        try:
            ray.get([a.ready.remote() for a in self._actors], timeout=startup_timeout_s)
        except ray.exceptions.GetTimeoutError as e:
            self.close()
            raise WorkerError(
                f"the {self.num_workers} workers did not start within {startup_timeout_s} s "
                "(not enough CPUs or memory in the cluster?)"
            ) from e
        except Exception as e:
            self.close()
            cause = _cause(e)
            if isinstance(cause, HetileError):
                raise cause from None
            raise WorkerError(f"the workers could not start: {cause}") from cause

    # -- public API -------------------------------------------------------------------------

    def worker_pids(self) -> List[int]:
        """The current process id of each worker (after restarts: the new process)."""
        ray = self._ray
        return [int(p) for p in ray.get([a.ready.remote() for a in self._actors])]

    def map_bytes(
        self,
        batches: Iterable[BatchLike],
        *,
        progress: ProgressArg = None,
        _method: str = "predict",
    ) -> Iterator[bytes]:
        """Runs every batch (an ``EncryptedTensor`` or its ``to_bytes()``) and yields the output
        bytes in input order, each exactly once. The input is read lazily (at most a few batches
        per worker ahead). Raises ``WorkerError`` when a batch failed ``max_retries + 1`` times
        or every worker is dead, ``DistributedError`` after ``close()``, and the server's
        ``HetileError`` as is."""
        if not self._actors:
            raise DistributedError("this RayInference is closed")
        ray = self._ray
        stats = RunStats()
        self.stats = stats
        total = len(batches) if hasattr(batches, "__len__") else None  # type: ignore[arg-type]
        callback, bar = _progress_sink(progress)
        start = time.perf_counter()
        source = iter(batches)
        exhausted = False
        pulled = 0
        next_out = 0
        window = self.num_workers * (self.queue_depth + 1)
        payload: Dict[int, bytes] = {}
        results: Dict[int, bytes] = {}
        attempts: Dict[int, int] = {}
        todo: Deque[int] = deque()
        pending: Dict[Any, Tuple[str, int, int]] = {}  # ref -> (kind, index, worker)
        sent_at: Dict[Any, float] = {}  # batch ref -> when it was sent
        expired: set = set()  # batch refs whose worker was restarted for a timeout
        load = [0] * self.num_workers
        suspect = [False] * self.num_workers
        probe_failures = [0] * self.num_workers
        try:
            while True:
                while not exhausted and pulled - next_out < window:
                    try:
                        b = next(source)
                    except StopIteration:
                        exhausted = True
                        total = pulled
                        break
                    payload[pulled] = _as_bytes(b)
                    attempts[pulled] = 0
                    todo.append(pulled)
                    pulled += 1
                while todo:
                    w = self._pick(load, suspect)
                    if w is None:
                        break
                    i = todo.popleft()
                    attempts[i] += 1
                    ref = getattr(self._actors[w], _method).remote(i, payload[i])
                    pending[ref] = ("batch", i, w)
                    sent_at[ref] = time.perf_counter()
                    load[w] += 1
                while next_out in results:
                    yield results.pop(next_out)
                    next_out += 1
                if exhausted and next_out == pulled:
                    break
                if all(self._dead):
                    raise WorkerError("every worker is dead")
                if not pending:
                    continue
                timeout = self._wait_timeout(sent_at, expired)
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=timeout)
                if not ready:
                    self._restart_expired(pending, sent_at, expired, stats)
                    continue
                for ref in ready:
                    kind, i, w = pending.pop(ref)
                    sent_at.pop(ref, None)
                    expired.discard(ref)
                    if kind == "probe":
                        try:
                            ray.get(ref)
                            suspect[w] = False
                            probe_failures[w] = 0
                        except Exception as e:  # dead, restarting, or its build failed
                            probe_failures[w] += 1
                            if probe_failures[w] >= 3 or isinstance(_cause(e), HetileError):
                                self._dead[w] = True
                            else:
                                pending[self._actors[w].ready.remote()] = ("probe", -1, w)
                        continue
                    load[w] -= 1
                    try:
                        idx, out, secs, cpu, pid = ray.get(ref)
                    except Exception as e:  # classified below
                        cause = _cause(e)
                        if isinstance(cause, HetileError):
                            raise cause from None
                        if attempts[i] > self.max_retries:
                            raise WorkerError(
                                f"batch {i} failed {attempts[i]} times; last error: {cause}"
                            ) from cause
                        stats.retries += 1
                        stats.attempts[i] = attempts[i] + 1
                        todo.appendleft(i)
                        if isinstance(e, ray.exceptions.RayActorError) and not suspect[w]:
                            suspect[w] = True
                            pending[self._actors[w].ready.remote()] = ("probe", -1, w)
                        continue
                    if idx != i or idx < next_out or idx in results:
                        stats.duplicates_discarded += 1
                        continue
                    results[i] = out
                    payload.pop(i, None)
                    stats.batches += 1
                    stats.worker_seconds[i] = float(secs)
                    stats.worker_cpu_seconds[i] = float(cpu)
                    stats.worker_pids[i] = int(pid)
                    p = Progress(
                        done=stats.batches,
                        total=total,
                        retries=stats.retries,
                        elapsed_seconds=time.perf_counter() - start,
                        index=i,
                    )
                    if callback is not None:
                        callback(p)
                    if bar is not None:
                        bar.update(p)
        finally:
            stats.seconds = time.perf_counter() - start
            for ref in pending:
                try:
                    ray.cancel(ref)
                except Exception:
                    pass
            if bar is not None:
                bar.close()

    def map(
        self,
        batches: Iterable[BatchLike],
        *,
        context: Optional[Any] = None,
        progress: ProgressArg = None,
    ) -> Iterator[EncryptedTensor]:
        """``map_bytes`` with each output loaded (validated) as an ``EncryptedTensor`` for
        ``context``: the ``hetile.Client`` that will decrypt it, or (default) a ``Server`` built
        on the driver from the spec. Raises ``SerializationError`` for invalid output bytes."""
        ctx = context if context is not None else self._driver_server()
        for out in self.map_bytes(batches, progress=progress):
            yield EncryptedTensor.from_bytes(out, ctx)

    def run(
        self,
        batches: Iterable[BatchLike],
        *,
        context: Optional[Any] = None,
        progress: ProgressArg = None,
    ) -> List[EncryptedTensor]:
        """Every output of ``map`` as a list, in input order."""
        return list(self.map(batches, context=context, progress=progress))

    def round_trip_seconds(self, data: BatchLike, repeats: int = 20) -> float:
        """Mean seconds to send ``data`` to a worker and back through Ray (a no-op task on the
        ciphertext bytes, one batch in flight at a time): Ray's overhead per batch."""
        payload = _as_bytes(data)
        if repeats < 1:
            raise ParameterError("repeats must be at least 1")
        list(self.map_bytes([payload], progress=False, _method="echo"))  # warm up
        start = time.perf_counter()
        for _ in range(repeats):
            out = list(self.map_bytes([payload], progress=False, _method="echo"))
            if out != [payload]:
                raise WorkerError("the echo round trip changed the bytes")
        return (time.perf_counter() - start) / repeats

    def close(self) -> None:
        """Kills the workers (idempotent). Ray itself keeps running."""
        ray = self._ray
        for a in getattr(self, "_actors", []):
            try:
                ray.kill(a, no_restart=True)
            except Exception:
                pass
        self._actors = []
        self._dead = []

    def __enter__(self) -> "RayInference":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------

    _local_server: Optional[Server] = None

    def _driver_server(self) -> Server:
        if self._local_server is None:
            spec = self._ray.get(self._spec_ref)
            self._local_server = spec.build_server()
        return self._local_server

    def _wait_timeout(self, sent_at: Dict[Any, float], expired: set) -> Optional[float]:
        """Seconds until the oldest live batch expires (``None``: no batch timeout)."""
        if self.batch_timeout_s is None:
            return None
        live = [t for r, t in sent_at.items() if r not in expired]
        if not live:
            return None
        return max(0.0, min(live) + self.batch_timeout_s - time.perf_counter())

    def _restart_expired(
        self,
        pending: Dict[Any, Tuple[str, int, int]],
        sent_at: Dict[Any, float],
        expired: set,
        stats: RunStats,
    ) -> None:
        """Restarts the worker of every batch past ``batch_timeout_s``; its tasks then fail
        and are sent again like those of a dead worker."""
        if self.batch_timeout_s is None:
            return
        now = time.perf_counter()
        restarted = set()
        for ref, (kind, _i, w) in pending.items():
            if kind != "batch" or ref in expired:
                continue
            if now - sent_at.get(ref, now) < self.batch_timeout_s:
                continue
            expired.add(ref)
            if w not in restarted:
                restarted.add(w)
                stats.timeouts += 1
                self._ray.kill(self._actors[w], no_restart=False)

    def _pick(self, load: List[int], suspect: List[bool]) -> Optional[int]:
        """The least loaded live worker with a free queue slot; a suspect worker (its last task
        died, its restart not yet confirmed) only when no healthy one has room."""
        best: Optional[int] = None
        for healthy_only in (True, False):
            for w in range(self.num_workers):
                if self._dead[w] or load[w] >= self.queue_depth:
                    continue
                if healthy_only and suspect[w]:
                    continue
                if best is None or load[w] < load[best]:
                    best = w
            if best is not None:
                return best
        return None


def _as_bytes(b: BatchLike) -> bytes:
    if isinstance(b, EncryptedTensor):
        return b.to_bytes()
    if isinstance(b, (bytes, bytearray, memoryview)):
        return bytes(b)
    raise TypeError(
        f"a batch must be a hetile.EncryptedTensor or its bytes, not {type(b).__name__}"
    )


def _cause(e: BaseException) -> BaseException:
    """The application exception inside a Ray task error, else ``e``."""
    ray = sys.modules.get("ray")
    if ray is not None and isinstance(e, ray.exceptions.RayTaskError):
        cause = getattr(e, "cause", None)
        if isinstance(cause, BaseException):
            return cause
    return e


def run(
    server_spec: ServerSpec,
    batches: Iterable[BatchLike],
    *,
    num_workers: Optional[int] = None,
    address: Optional[str] = None,
    progress: ProgressArg = None,
    max_retries: int = 3,
    context: Optional[Any] = None,
    worker_memory_bytes: Optional[int] = None,
    batch_timeout_s: Optional[float] = None,
) -> List[EncryptedTensor]:
    """Runs the spec's model on every encrypted batch on Ray and returns the outputs in input
    order, each loaded for ``context`` (the decrypting ``Client``; default: a driver-side
    ``Server`` of the spec). Starts ``num_workers`` workers (``RayInference``), runs, and
    releases them. Errors: as ``RayInference`` and ``RayInference.map_bytes``."""
    with RayInference(
        server_spec,
        num_workers=num_workers,
        address=address,
        max_retries=max_retries,
        worker_memory_bytes=worker_memory_bytes,
        batch_timeout_s=batch_timeout_s,
    ) as pool:
        return pool.run(batches, context=context, progress=progress)

"""hetile: deep learning on CKKS-encrypted data.

A client encrypts its input with its own keys; a server holding only public evaluation keys
runs the network on ciphertexts; the client decrypts the result::

    import hetile, numpy as np
    model = hetile.load_onnx("model.onnx")            # or hetile.Model.sequential([...])...
    plan = hetile.optimize(model, objective="latency", batch_size=1)
    print(plan.simulate())                            # predicted latency, memory, per layer
    client = hetile.Client(plan)                      # key generation; holds the secret key
    server = hetile.Server.from_public_context(client.public_context(), plan, model)
    y = client.decrypt(server.predict(client.encrypt(x)))

Backends: ``"native"`` (the real RNS-CKKS engine), ``"mock"`` (clear values with exact CKKS
bookkeeping; no security) and ``"simulator"`` (metadata only). For the mock and simulator the
public context carries only the parameters and key requirements.

Errors derive from ``HetileError``: ``ParameterError``, ``LevelError``, ``ShapeError``,
``KeyError`` (shadows the builtin only inside this module) and ``SerializationError``.
"""

from ._native import (
    Client,
    EncryptedTensor,
    HetileError,
    KeyError,
    LevelError,
    Model,
    ParameterError,
    Plan,
    SerializationError,
    Server,
    ShapeError,
    SimulationReport,
    TileTensor,
    __version__,
    load_onnx,
    optimize,
)
from ._progress import set_progress

__all__ = [
    "Client",
    "EncryptedTensor",
    "HetileError",
    "KeyError",
    "LevelError",
    "Model",
    "ParameterError",
    "Plan",
    "SerializationError",
    "Server",
    "ShapeError",
    "SimulationReport",
    "TileTensor",
    "__version__",
    "load_onnx",
    "optimize",
    "set_progress",
]

"""Shared fixtures: a small dense model, small insecure parameters (explicit opt-out) and
plans on them."""

import os
import pathlib

import numpy as np
import pytest

import hetile

hetile.set_progress(False)

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODELS = ROOT / "layers" / "tests" / "models"

# N = 2^12 (2048 slots), five levels: far below 128-bit security, so the literal must say so.
SMALL_PARAMS = {
    "log_n": 12,
    "log_q": [60, 40, 40, 40, 40, 40],
    "log_p": [60],
    "log_scale": 40,
    "security": "insecure",
}


def small_weights(seed=0):
    rng = np.random.default_rng(seed)
    w1 = rng.uniform(-0.3, 0.3, size=(8, 16))
    b1 = rng.uniform(-0.1, 0.1, size=8)
    w2 = rng.uniform(-0.3, 0.3, size=(4, 8))
    b2 = rng.uniform(-0.1, 0.1, size=4)
    return w1, b1, w2, b2


@pytest.fixture(scope="session")
def model():
    w1, b1, w2, b2 = small_weights()
    return hetile.Model.sequential([16]).dense(w1, b1).square().dense(w2, b2)


@pytest.fixture(scope="session")
def plan(model):
    return hetile.Plan.manual(model, params=SMALL_PARAMS, tile=[16, 16, 8], batch_size=4, threads=1)


@pytest.fixture(scope="session")
def batch():
    rng = np.random.default_rng(7)
    return rng.uniform(-1.0, 1.0, size=(4, 16))


@pytest.fixture(scope="session")
def onnx_dir():
    return MODELS

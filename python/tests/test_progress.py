"""The progress bar: tqdm when importable, else a small stderr bar; both can be turned off."""

import sys

import hetile
from hetile import _progress


def test_stderr_bar_without_tqdm(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    bar = _progress.start("predict", 0.5)
    assert bar._tqdm is None
    bar.close()
    err = capsys.readouterr().err
    assert "predict: [" in err and "/0.50 s" in err


def test_set_progress_switches_the_global_default():
    assert _progress.enabled() is False  # the suite turns bars off in conftest
    hetile.set_progress(True)
    try:
        assert _progress.enabled() is True
    finally:
        hetile.set_progress(False)
    assert _progress.enabled() is False

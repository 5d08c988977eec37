"""Progress bars around long native steps (key generation, encryption, inference, decryption,
optimization).

The native code releases the GIL while it works; a daemon thread refreshes the bar meanwhile.
The bar is tqdm's when tqdm is importable, else a small bar on stderr. Turn it off globally with
``hetile.set_progress(False)`` or per call with ``progress=False``.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Optional

_ENABLED = True


def set_progress(enabled: bool) -> None:
    """Turns the progress bars of long steps on or off for the whole process."""
    global _ENABLED
    _ENABLED = bool(enabled)


def enabled() -> bool:
    """Whether progress bars are shown (see ``set_progress``)."""
    return _ENABLED


class _Bar:
    """A bar over the elapsed time of one native step; ``expected`` seconds (the simulator's
    prediction, when known) size it, else it shows elapsed time only."""

    def __init__(self, label: str, expected: Optional[float]) -> None:
        self.label = label
        self.expected = expected if expected and expected > 0 else None
        self.start = time.perf_counter()
        self._stop = threading.Event()
        self._tqdm = None
        try:
            from tqdm.auto import tqdm  # type: ignore

            total = round(self.expected, 2) if self.expected else None
            self._tqdm = tqdm(total=total, desc=label, unit="s", leave=False,
                              bar_format="{desc}: {bar} {n:.2f}/{total} s" if total else
                              "{desc}: {elapsed}")
        except Exception:  # tqdm missing or unusable: fall back to stderr
            self._tqdm = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _draw(self, final: bool = False) -> None:
        elapsed = time.perf_counter() - self.start
        if self._tqdm is not None:
            if self.expected:
                self._tqdm.n = min(elapsed, self.expected)
            self._tqdm.refresh()
            return
        if self.expected:
            frac = min(elapsed / self.expected, 1.0)
            filled = int(frac * 20)
            bar = "#" * filled + "-" * (20 - filled)
            text = f"\r{self.label}: [{bar}] {elapsed:.2f}/{self.expected:.2f} s"
        else:
            text = f"\r{self.label}: {elapsed:.2f} s"
        sys.stderr.write(text + ("\n" if final else ""))
        sys.stderr.flush()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._draw()

    def close(self) -> None:
        """Stops the refresh thread and clears (tqdm) or finishes (stderr) the bar."""
        self._stop.set()
        self._thread.join()
        if self._tqdm is not None:
            self._tqdm.close()
        else:
            self._draw(final=True)


def start(label: str, expected: Optional[float] = None) -> _Bar:
    """Starts a bar for a native step (called by the extension module)."""
    return _Bar(label, expected)

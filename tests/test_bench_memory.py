"""The benchmarks' peak-memory figure is the measured process's own, not its parent's."""

import subprocess
import sys

import numpy as np

from benchmarks.memory import peak_rss_mb


def test_child_does_not_inherit_the_parents_peak() -> None:
    block = np.ones(256 * 2**20 // 8)  # this process now peaks above 256 MB
    assert block.sum() > 0 and peak_rss_mb() > 256
    code = "from benchmarks.memory import peak_rss_mb; print(peak_rss_mb())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) < 200  # a bare interpreter, whatever the parent used

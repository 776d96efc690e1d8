import platform
import subprocess
import sys

import pytest

# Arrays of growing size from 256 KiB to 4 MiB (below numpy's huge-page size), each touched and freed:
# glibc's default serves each with fresh mmap pages (its threshold follows the largest block freed).
_CHURN = """
import resource, sys
import numpy as np
from blapose.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for kibibytes in range(256, 4096, 128):
    np.ones(kibibytes * 1024 // 8).sum()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
_PAGES_TOUCHED = sum(range(256, 4096, 128)) * 1024 // 4096


def _faults(mode: str) -> int:
    return int(subprocess.run([sys.executable, "-c", _CHURN, mode], check=True, capture_output=True,
                              text=True).stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt(3) settings are glibc's")
def test_freed_blocks_are_reused_without_page_faults():
    """With keep_freed_memory, freed array memory is reused: growing arrays fault only their growth."""
    kept, default = _faults("keep"), _faults("default")
    assert kept < 0.25 * _PAGES_TOUCHED, (kept, _PAGES_TOUCHED)
    assert default > 0.75 * _PAGES_TOUCHED, (default, _PAGES_TOUCHED)  # what the setting avoids

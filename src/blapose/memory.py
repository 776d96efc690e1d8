"""Keeping freed memory in the process for commands that churn through large temporaries.

glibc's malloc serves blocks of 128 KiB and more (a threshold it raises as such blocks are
freed) with fresh ``mmap`` pages and gives freed memory back to the kernel. An evaluation that
allocates and frees megabyte-sized numpy temporaries batch after batch therefore touches new
pages again and again: on Human3.6M's test set ``blapose adjust`` took about 170,000 page
faults in its evaluation alone. Each costs a few microseconds, more in virtual machines that
hand freed pages back to their host. ``keep_freed_memory`` raises both thresholds (mallopt(3)
M_MMAP_THRESHOLD and M_TRIM_THRESHOLD) so that blocks below 32 MiB come from the heap and freed
memory stays there for the next batch. It is meant for short commands, not for a library to
call behind its user's back; elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import functools

_M_TRIM_THRESHOLD = -1  # <malloc.h>
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's largest accepted value on 64-bit machines
TRIM_THRESHOLD_BYTES = 1024 * 1024 * 1024


@functools.cache
def keep_freed_memory() -> bool:
    """Have malloc keep freed blocks below 32 MiB and up to 1 GiB of free heap in the process.

    Returns whether glibc accepted both settings (False on other C libraries). Once per process.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library already loaded into the process
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))

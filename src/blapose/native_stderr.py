"""Keeping native libraries' own messages off the terminal.

OpenCV's FFmpeg back end (``moov atom not found``, decoder warnings) and MediaPipe's C++ code
(TFLite delegate, absl notices) write straight to file descriptor 2, from their own threads too,
where Python cannot catch them. blapose reports problems itself, in one line.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[TextIO]:
    """Send file descriptor 2 to /dev/null for the block; yield a stream to the real stderr.

    Progress and messages meant for the user go to the yielded stream. Python exceptions still
    propagate, and the real stderr is back in place before they reach the caller.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    real_stderr = os.fdopen(os.dup(saved), "w", buffering=1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield real_stderr
    finally:
        real_stderr.flush()
        sys.stderr.flush()  # what Python wrote inside the block goes to /dev/null, not after it
        os.dup2(saved, 2)
        os.close(saved)
        real_stderr.close()

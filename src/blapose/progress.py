"""Progress of long work: a redrawn bar on a terminal, plain lines in a log.

On a terminal (stderr is a TTY) ``Progress`` is a tqdm bar. Anywhere else (a pipe, a file, CI) a
redrawn bar would write a carriage-return flood into the log, so it writes one line when the stage
ends and, for long stages, at most one line every ``interval`` seconds while it runs::

    with Progress(total=len(videos), description="bone lengths", unit="video") as bar:
        for video in videos:
            ...
            bar.update()

    for batch in progress(batches, total, "epoch 3", unit="batch"):
        ...

Nothing is imported from tqdm until a bar is shown.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

#: Seconds between two lines of a long stage when output is not a terminal.
LOG_INTERVAL = 30.0


def is_terminal(stream: TextIO | None = None) -> bool:
    """True when ``stream`` (default stderr) is an interactive terminal; BLAPOSE_PROGRESS=bar|lines forces one."""
    forced = os.environ.get("BLAPOSE_PROGRESS", "").lower()
    if forced in ("bar", "lines"):
        return forced == "bar"
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def _format_seconds(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"


class Progress:
    """Counts work done in a stage of ``total`` units; shows it as a bar or as log lines.

    enabled: False shows nothing. stream: where lines go (default stderr). The closing line
    (lines mode) gives the count, the time and the rate; ``postfix`` adds ``key=value`` pairs
    (e.g. a loss) to the bar and to the lines.
    """

    def __init__(self, total: int | None = None, description: str = "", unit: str = "it",
                 enabled: bool = True, stream: TextIO | None = None, interval: float = LOG_INTERVAL,
                 leave: bool = False) -> None:
        self.total, self.description, self.unit = total, description, unit
        self.enabled, self.interval = enabled, interval
        self.stream = sys.stderr if stream is None else stream
        self.count = 0
        self.postfix: dict[str, Any] = {}
        self._bar = None
        self._start = self._last_line = time.perf_counter()
        self._closed = False
        if enabled and is_terminal(self.stream):
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=description, unit=unit, leave=leave, dynamic_ncols=True,
                             file=self.stream)

    def update(self, n: int = 1, **postfix: Any) -> None:
        """Add ``n`` units done; ``postfix`` values replace the shown ones."""
        self.count += n
        if postfix:
            self.postfix.update(postfix)
        if not self.enabled:
            return
        if self._bar is not None:
            if postfix:
                self._bar.set_postfix(self.postfix, refresh=False)
            self._bar.update(n)
            return
        now = time.perf_counter()
        if now - self._last_line >= self.interval and (self.total is None or self.count < self.total):
            self._last_line = now
            self._write_line(now, final=False)

    def _write_line(self, now: float, final: bool) -> None:
        elapsed = now - self._start
        done = f"{self.count}" if self.total is None else f"{self.count}/{self.total}"
        rate = f", {self.count / elapsed:.1f} {self.unit}/s" if elapsed > 0 and self.count else ""
        extra = "".join(f", {key}={_format_value(value)}" for key, value in self.postfix.items())
        state = "done" if final else "..."
        print(f"{self.description}: {done} {self.unit} {state} in {_format_seconds(elapsed)}{rate}{extra}",
              file=self.stream, flush=True)

    def close(self, failed: bool = False) -> None:
        """End the stage: close the bar, or write its closing line (none when the stage ``failed``)."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif self.enabled and not failed:
            self._write_line(time.perf_counter(), final=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        self.close(failed=exc_type is not None)


def _format_value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def progress(iterable: Iterable[T], total: int | None = None, description: str = "", unit: str = "it",
             enabled: bool = True, stream: TextIO | None = None) -> Iterator[T]:
    """Yield from ``iterable`` while counting it with a ``Progress`` (closed when the loop ends)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with Progress(total, description, unit, enabled, stream) as bar:
        for item in iterable:
            yield item
            bar.update()

"""argparse ``type=`` functions of the flags that take comma-separated values: each list is parsed here once.

argparse runs them on the text of a flag and on a default given as text, so a command's plan gets
tuples. A value that cannot be read raises ``argparse.ArgumentTypeError``, which argparse reports
in one line naming the flag; what the values mean (known subjects, odd filter widths, clip names)
is checked where they are used. Only the standard library is imported here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def comma_list(text: str) -> tuple[str, ...]:
    """'S9, S11' -> ('S9', 'S11'): items stripped, empty items dropped ('' -> ())."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def comma_list_or_all(text: str) -> tuple[str, ...] | None:
    """'*' -> None (everything), else ``comma_list``: e.g. action-name prefixes."""
    return None if text.strip() == "*" else comma_list(text)


def _numbers(text: str, kind: Callable[[str], float], example: str) -> tuple:
    try:
        values = tuple(kind(item) for item in comma_list(text))
    except ValueError:
        values = ()
    if not values:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of {example}")
    return values


def int_list(text: str) -> tuple[int, ...]:
    """'3,3,3' -> (3, 3, 3); at least one integer."""
    return _numbers(text, int, "integers such as 3,3,3")


def box(text: str) -> tuple[float, float, float, float]:
    """'X0,Y0,X1,Y1' -> four numbers (pixels) with X0 < X1 and Y0 < Y1."""
    try:
        corners = tuple(float(value) for value in comma_list(text))
    except ValueError:
        corners = ()
    if len(corners) != 4 or not (corners[0] < corners[2] and corners[1] < corners[3]):
        raise argparse.ArgumentTypeError(f"{text!r} must be X0,Y0,X1,Y1 pixels with X0 < X1 and Y0 < Y1")
    return corners


def frame_size(text: str) -> tuple[int, int]:
    """'1920,1080' -> (1920, 1080): a frame's width and height in pixels, both at least 1."""
    sides = _numbers(text, int, "two whole numbers WIDTH,HEIGHT such as 1920,1080")
    if len(sides) != 2 or min(sides) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be WIDTH,HEIGHT in pixels, e.g. 1920,1080")
    return sides

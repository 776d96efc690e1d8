"""Progress reporting: bars on a terminal, a bounded number of plain lines elsewhere."""

import io

from blapose.progress import Progress, progress


def test_log_mode_writes_one_line_per_stage():
    """Off a terminal a stage of many updates writes a single closing line, with no carriage returns."""
    stream = io.StringIO()
    for _ in progress(range(1000), description="epoch 1", unit="batch", stream=stream):
        pass
    text = stream.getvalue()
    assert "\r" not in text
    assert text.count("\n") == 1
    assert text.startswith("epoch 1: 1000/1000 batch done")


def test_log_mode_long_stage_is_rate_limited():
    """A long stage writes intermediate lines at most once per interval (here: every update)."""
    stream = io.StringIO()
    with Progress(total=3, description="stage", stream=stream, interval=0.0) as bar:
        for _ in range(3):
            bar.update(loss=0.5)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3  # two intermediate (count < total), one closing
    assert lines[-1].endswith("loss=0.5")


def test_disabled_writes_nothing():
    """enabled=False is silent but still counts."""
    stream = io.StringIO()
    with Progress(total=5, enabled=False, stream=stream) as bar:
        bar.update(5)
    assert stream.getvalue() == "" and bar.count == 5


def test_failed_stage_claims_nothing_done():
    """A stage left by an exception writes no closing 'done' line (the error line is the last word)."""
    stream = io.StringIO()
    try:
        with Progress(total=3, description="reading", stream=stream) as bar:
            bar.update()
            raise ValueError("bad file")
    except ValueError:
        pass
    assert stream.getvalue() == ""

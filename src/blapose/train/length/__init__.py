"""Training the bone-length model: batches of re-posed, re-projected motion (``batches``), the
settings and recipes (``config``), the loop (``training``), evaluation (``evaluation``) and
checkpoint state (``state``). The loop's public names are available here."""

from .training import *  # noqa: F401,F403
from .training import __all__  # noqa: F401

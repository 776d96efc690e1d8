"""Training the lifting model and fine-tuning through the adjustment: the loops and configs
(``training``), the upstream flags mapped onto a command and the data and models it names loaded
(``inputs``), and the training command (``commands``). The loops' public names are available here."""

from .training import *  # noqa: F401,F403
from .training import __all__  # noqa: F401

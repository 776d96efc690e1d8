"""Neural models: the bone-length (bi)GRU, the temporal lifting model, and checkpoint files.

Import the submodules directly (``blapose.models.length``); this package imports nothing heavy.
"""

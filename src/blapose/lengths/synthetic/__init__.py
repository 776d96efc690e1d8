"""Synthetic bone lengths from body models (Anny, SMPL), their alignment with a dataset, and a
documented anthropometric fallback.

Modules: ``anny_model`` and ``smpl_model`` (bodies -> Human3.6M joints -> lengths; ``smpl_pickle``
reads SMPL files without running code), ``generate`` (batched generation with progress, and the
lengths a length model trains on by default), ``align`` (upstream's data alignment), ``files``
(upstream's npz format), ``report`` (mm table), ``fallback`` (no body model needed), ``cache``
(the user cache folder where the built Anny model is kept). Nothing heavy is imported here.
"""

"""Bone lengths: files of predicted lengths, reference lengths, errors, the floor-scale baseline,
and synthetic lengths from body models.

Modules: ``io`` (per-video lengths files in upstream's ``lengths_dict.npz`` / ``lengths_list.npz``
formats), ``reference`` (the lengths to compare with or adjust to: ground truth per video,
subject means, a video's own median), ``scoring`` (errors against the truth, split into scale and
proportion; mm tables and JSON), ``floor_scale`` (the geometric size baseline) and ``synthetic/``
(bodies from Anny, SMPL or an anthropometric fallback, aligned with a dataset). Nothing heavy
is imported here.
"""

"""Reference implementations written the slow, obvious way, to check the fast ones against."""

import numpy as np


def reference_p_mpjpe_per_frame(predicted, target):
    """Protocol 2 by SVD with the reflection removed, frame by frame (VideoPose3D's definition)."""
    errors = []
    for p, t in zip(predicted, target):
        p0, t0 = p - p.mean(0), t - t.mean(0)
        u, s, vt = np.linalg.svd(p0.T @ t0)
        d = np.sign(np.linalg.det(u @ vt))
        rotation = u @ np.diag([1, 1, d]) @ vt
        scale = (s * [1, 1, d]).sum() / (p0 ** 2).sum()
        errors.append(np.linalg.norm(scale * p0 @ rotation - t0, axis=-1).mean())
    return np.array(errors)

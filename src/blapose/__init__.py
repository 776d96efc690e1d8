"""blapose: 3D human pose estimation with bone-length adjustment (BLAPose, Hsu & Jang, ACCV 2024).

Light at import: heavy libraries (torch, matplotlib, body models) load inside the functions
that need them.
"""

from .bones import adjust_poses, bones_to_poses, poses_to_bones, symmetrize_lengths
from .evaluation import adjust_files
from .report import adjustment_report

__all__ = ["adjust_poses", "adjust_files", "adjustment_report", "bones_to_poses", "poses_to_bones",
           "symmetrize_lengths"]
__version__ = "0.1.0"

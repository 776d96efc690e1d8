"""Geometry of cameras and bodies, each concept written once for numpy and torch.

Modules: ``camera`` (world <-> camera frames, projection with lens distortion and its inverse,
``viewing_rays``; screen normalisation; the Human3.6M calibration), ``rotations`` (every rotation
builder: about an axis, from a quaternion, between two vectors, look-at, upright frame) and
``floor`` (a calibrated camera relative to the floor: calibration vectors, feet on the floor,
the person's plane). Nothing heavy is imported here.
"""

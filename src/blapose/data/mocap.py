"""Real human motion: the DeepMimic motion-capture clips that ship with pybullet, as Human3.6M joints.

The pybullet wheel (``pip install 'blapose[mocap]'``, pybullet 3.2.7, zlib licence) carries 15 clips
of DeepMimic's humanoid (Peng et al., SIGGRAPH 2018), ``pybullet_data/data/motions/humanoid3d_<name>.txt``
(``CLIP_NAMES``), and the humanoid, ``pybullet_data/humanoid/humanoid.urdf``. ``load_clips`` reads
them and returns each clip as joint positions (T, 17, 3) float64, meters, blapose's world frame
(z up, floor at z = 0), Human3.6M joint order, 50 fps.

Clip format (pybullet_envs/deep_mimic/env/humanoid_pose_interpolator.py): JSON with "Loop" and
"Frames", one row of 44 numbers per key frame: the duration to the next key frame (s), the root
position (3, meters), the root rotation (quaternion w, x, y, z), then the joints of ``CLIP_COLUMNS``
in that order, a quaternion (w, x, y, z) for each spherical joint and an angle (radians) about the
URDF axis for each revolute one (knees, elbows): each link's rotation relative to its parent link.

Humanoid: the URDF's lengths are 4 units to the meter; pybullet's DeepMimic environment loads it
with ``globalScaling=0.25`` (humanoid_stable_pd.py), ``HUMANOID_SCALE``. Its world is y up with the
ground plane at y = 0 (pybullet_deep_mimic_env.py); the humanoid faces +x, its right side at +z.
Here (x, y, z) becomes (x, -z, y): z up, x forward, y left at rest. The floor is where the clip has
it, not re-levelled: in the walk the lower foot's sole (the URDF's foot box, 5 cm under the ankle)
stays between -0.5 and +1.4 cm; other clips dip a sole up to 7 cm under it at times, and the crawl
and the roll put a knee or a wrist joint 5 cm under it.

Resampling: key frame i is at the sum of the durations before it; samples every 1/50 s from the
first key frame to the last (each clip once: "Loop" is not followed); the root position and the
knee and elbow angles are interpolated linearly and rotations by slerp (as pybullet's interpolator
does), then forward kinematics. Quaternions are normalised (some of the backflip's and the roll's
are up to 19 % off unit length); with unit quaternions the link frames equal pybullet's own.

Joints (``HUMANOID_POINTS``; "origin" is a URDF joint's origin, where its child link turns):

| Human3.6M joint | humanoid point |
| --- | --- |
| Hip | root (pelvis) origin |
| RHip, RKnee, RFoot | right_hip, right_knee, right_ankle origins (LHip, LKnee, LFoot: left_*) |
| Spine | chest origin: the waist joint, 0.236 m above the root |
| Thorax | neck origin: the base of the neck, 0.224 m above the chest origin |
| Neck/Nose | in the head: the head sphere's centre (0.175 m up the neck link) moved forward by half its radius |
| Head | the top of the head sphere (0.278 m up the neck link) |
| RShoulder, RElbow, RWrist | right_shoulder, right_elbow, right_wrist origins (left_* for L...) |

The humanoid is one body. Its bone lengths (mm; hip, thigh, shin, spine, thorax, neck, head, collar,
upper arm, forearm; the same on both sides): 85, 422, 410, 236, 224, 182, 115, 187, 275, 259; the
built-in dataset's mean body (``synthetic.MEAN_LENGTHS``): 133, 443, 454, 234, 257, 121, 115, 151, 278,
252. Glossary: T frames (50 fps), K key frames, L humanoid links, J joints (17).
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..skeleton import H36M
from .motion import FPS

CLIP_NAMES = ("walk", "run", "jump", "kick", "spinkick", "punch", "spin", "dance_a", "dance_b", "crawl",
              "cartwheel", "backflip", "roll", "getup_faceup", "getup_facedown")
#: Clips kept out of lift training by default, one of each kind whose sibling stays in: everyday
#: locomotion (run stays), upright full-body motion (dance_a stays), floor work (getup_facedown stays).
DEFAULT_HOLDOUT = ("walk", "dance_b", "getup_faceup")
HUMANOID_SCALE = 0.25  # meters per URDF unit (humanoid_stable_pd.py: globalScaling=0.25)
#: The joints a clip row drives after the root, in row order, with their number of values.
CLIP_COLUMNS = (("chest", 4), ("neck", 4), ("right_hip", 4), ("right_knee", 1), ("right_ankle", 4),
                ("right_shoulder", 4), ("right_elbow", 1), ("left_hip", 4), ("left_knee", 1),
                ("left_ankle", 4), ("left_shoulder", 4), ("left_elbow", 1))
ROW_WIDTH = 1 + 3 + 4 + sum(width for _, width in CLIP_COLUMNS)  # 44
#: Humanoid y-up world -> blapose world (z up): (x, y, z) -> (x, -z, y).
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
#: Where each Human3.6M joint is: a link name (that link's origin, i.e. its joint's), or (link,
#: (forward, up)): a point of the neck link, in radii of its head sphere from the sphere's centre.
HUMANOID_POINTS = {
    "Hip": "root", "RHip": "right_hip", "RKnee": "right_knee", "RFoot": "right_ankle",
    "LHip": "left_hip", "LKnee": "left_knee", "LFoot": "left_ankle", "Spine": "chest", "Thorax": "neck",
    "Neck/Nose": ("neck", (0.5, 0.0)), "Head": ("neck", (0.0, 1.0)),
    "LShoulder": "left_shoulder", "LElbow": "left_elbow", "LWrist": "left_wrist",
    "RShoulder": "right_shoulder", "RElbow": "right_elbow", "RWrist": "right_wrist",
}
MOTIONS_FOLDER, URDF_FILE = Path("data") / "motions", Path("humanoid") / "humanoid.urdf"


@dataclass(frozen=True)
class Humanoid:
    """The kinematic tree of a humanoid URDF, in meters, in its own y-up frames.

    links: link names, each after its parent; parents (L,) index of each link's parent (-1 for the
    root); kinds (L,): the URDF type of the joint that attaches the link ("root" for the first);
    offsets (L, 3): the joint's origin in the parent link's frame; axes (L, 3): revolute axes;
    head_centre (3,) and head_radius: the neck link's collision sphere.
    """

    links: tuple[str, ...]
    parents: tuple[int, ...]
    kinds: tuple[str, ...]
    offsets: np.ndarray
    axes: np.ndarray
    head_centre: np.ndarray
    head_radius: float

    def index(self, link: str) -> int:
        return self.links.index(link)

    def point(self, joint: str) -> tuple[int, np.ndarray]:
        """Link index and point (3,) meters in that link's frame of the Human3.6M joint ``joint``."""
        where = HUMANOID_POINTS[joint]
        if isinstance(where, str):
            return self.index(where), np.zeros(3)
        link, (forward, up) = where
        return self.index(link), self.head_centre + self.head_radius * np.array([forward, up, 0.0])


def _vector(element: ET.Element | None, tag: str, attribute: str = "xyz") -> np.ndarray:
    """The three numbers of ``element``'s child ``tag`` attribute ``attribute``; zeros without one."""
    child = None if element is None else element.find(tag)
    text = None if child is None else child.get(attribute)
    return np.array([float(value) for value in (text or "0 0 0").split()])


def read_humanoid(path: str | os.PathLike) -> Humanoid:
    """The humanoid of a DeepMimic URDF (pybullet_data/humanoid/humanoid.urdf), scaled to meters."""
    try:  # pybullet's copy ends in a NUL byte, which its own parser ignores
        robot = ET.fromstring(Path(path).read_bytes().rstrip(b"\0\r\n\t "))
    except (OSError, ET.ParseError) as error:
        raise InputError(f"{path}: not a readable URDF ({error})") from None
    joints = {j.find("child").get("link"): j for j in robot.iter("joint") if j.find("child") is not None}
    root = "root"
    links, parents, kinds, offsets, axes = [root], [-1], ["root"], [np.zeros(3)], [np.zeros(3)]
    for child, joint in joints.items():  # URDF order: DeepMimic's humanoid lists parents first
        parent = joint.find("parent").get("link") if joint.find("parent") is not None else None
        if child == root or parent == "base":
            continue
        if parent not in links:
            raise InputError(f"{path}: joint {joint.get('name')!r} comes before its parent link {parent!r}")
        links.append(child)
        parents.append(links.index(parent))
        kinds.append(joint.get("type"))
        offsets.append(_vector(joint, "origin") * HUMANOID_SCALE)
        axes.append(_vector(joint, "axis"))
    needed = {where if isinstance(where, str) else where[0] for where in HUMANOID_POINTS.values()}
    needed |= {name for name, _ in CLIP_COLUMNS}
    if missing := sorted(needed - set(links)):
        raise InputError(f"{path}: no link {', '.join(missing)}; expected DeepMimic's humanoid")
    for name, width in CLIP_COLUMNS:
        expected = "spherical" if width == 4 else "revolute"
        if kinds[links.index(name)] != expected:
            raise InputError(f"{path}: joint {name!r} is {kinds[links.index(name)]}, expected {expected}")
    sphere = next((c for link in robot.iter("link") if link.get("name") == "neck"
                   for c in link.iter("collision") if c.find("geometry/sphere") is not None), None)
    if sphere is None:
        raise InputError(f"{path}: the neck link has no collision sphere (the head)")
    centre = _vector(sphere, "origin") * HUMANOID_SCALE
    radius = float(sphere.find("geometry/sphere").get("radius")) * HUMANOID_SCALE
    return Humanoid(tuple(links), tuple(parents), tuple(kinds), np.array(offsets), np.array(axes),
                    centre, radius)


@dataclass(frozen=True)
class Clip:
    """One DeepMimic clip's key frames: times (K,) s from the first; root_position (K, 3) meters and
    root_rotation (K, 4) quaternion (x, y, z, w), humanoid y-up world; joints {name: (K, 4)
    quaternion (x, y, z, w) or (K, 1) angle radians} for the joints of ``CLIP_COLUMNS``."""

    name: str
    times: np.ndarray
    root_position: np.ndarray
    root_rotation: np.ndarray
    joints: dict[str, np.ndarray]


def _scalar_last(quaternions: np.ndarray) -> np.ndarray:
    """Quaternions (..., 4) w, x, y, z -> x, y, z, w (scipy's order)."""
    return np.roll(quaternions, -1, axis=-1)


def read_clip(path: str | os.PathLike) -> Clip:
    """The key frames of a DeepMimic motion file (JSON with "Frames" rows of ``ROW_WIDTH`` numbers)."""
    path = Path(path)
    try:
        frames = np.asarray(json.loads(path.read_text())["Frames"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"{path}: not a DeepMimic motion file ({type(error).__name__}: {error})") from None
    if frames.ndim != 2 or frames.shape[1] != ROW_WIDTH or len(frames) < 2:
        raise InputError(f"{path}: frames have shape {frames.shape}, expected (K >= 2, {ROW_WIDTH})")
    if not np.isfinite(frames).all() or (frames[:-1, 0] <= 0).any():
        raise InputError(f"{path}: frame durations must be positive and every value finite")
    times = np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])
    joints, column = {}, 8
    for name, width in CLIP_COLUMNS:
        values = frames[:, column:column + width]
        joints[name] = _scalar_last(values) if width == 4 else values
        column += width
    name = path.stem.removeprefix("humanoid3d_")
    return Clip(name, times, frames[:, 1:4], _scalar_last(frames[:, 4:8]), joints)


def link_frames(clip: Clip, humanoid: Humanoid, fps: float = FPS) -> tuple[np.ndarray, np.ndarray]:
    """Forward kinematics at ``fps``: link origins (T, L, 3) meters and rotations (T, L, 3, 3), y-up world.

    T covers the clip from its first key frame to its last (``clip.times``); rotations are slerped
    and the root position and revolute angles interpolated linearly between key frames.
    """
    from scipy.spatial.transform import Rotation, Slerp

    times = np.minimum(np.arange(int(np.floor(clip.times[-1] * fps + 1e-6)) + 1) / fps, clip.times[-1])

    def slerp(quaternions: np.ndarray) -> np.ndarray:
        return Slerp(clip.times, Rotation.from_quat(quaternions))(times).as_matrix()

    def linear(values: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(times, clip.times, column) for column in values.T], axis=-1)

    count = len(humanoid.links)
    positions = np.zeros((len(times), count, 3))
    rotations = np.zeros((len(times), count, 3, 3))
    positions[:, 0], rotations[:, 0] = linear(clip.root_position), slerp(clip.root_rotation)
    for link in range(1, count):
        name, parent, kind = humanoid.links[link], humanoid.parents[link], humanoid.kinds[link]
        if kind == "spherical":
            turn = slerp(clip.joints[name])
        elif kind == "revolute":
            turn = Rotation.from_rotvec(linear(clip.joints[name]) * humanoid.axes[link]).as_matrix()
        else:  # fixed
            turn = np.eye(3)
        positions[:, link] = positions[:, parent] + rotations[:, parent] @ humanoid.offsets[link]
        rotations[:, link] = rotations[:, parent] @ turn
    return positions, rotations


def clip_joint_positions(clip: Clip, humanoid: Humanoid, fps: float = FPS) -> np.ndarray:
    """Human3.6M joints (T, 17, 3) float64, meters, blapose world frame (z up, floor at z = 0), at ``fps``."""
    positions, rotations = link_frames(clip, humanoid, fps)
    joints = []
    for name in H36M.joint_names:
        link, point = humanoid.point(name)
        joints.append(positions[:, link] + rotations[:, link] @ point)
    return np.stack(joints, axis=1) @ Y_UP_TO_Z_UP.T


def pybullet_data_dir() -> Path:
    """The folder of the installed ``pybullet_data`` package (``pip install 'blapose[mocap]'``)."""
    try:
        import pybullet_data
    except ImportError:
        raise InputError("the motion-capture clips come with pybullet: pip install 'blapose[mocap]' "
                         "(pybullet==3.2.7), or give a folder laid out like pybullet_data") from None
    return Path(pybullet_data.getDataPath())


def mocap_dir(source: str | os.PathLike) -> Path:
    """The data folder of ``source``: 'pybullet' (the installed pybullet_data) or a folder laid out like
    it (``data/motions/humanoid3d_<name>.txt`` and ``humanoid/humanoid.urdf``)."""
    folder = pybullet_data_dir() if str(source) == "pybullet" else Path(source)
    if not (folder / URDF_FILE).is_file() or not (folder / MOTIONS_FOLDER).is_dir():
        raise InputError(f"{folder}: no {URDF_FILE} and {MOTIONS_FOLDER}/; expected pybullet_data's layout")
    return folder


def clip_names(names: Sequence[str]) -> tuple[str, ...]:
    """The clip names of a list such as ('walk', 'kick'), 'none' left out (('none',) or () name no clip).
    Unknown names raise ``InputError``."""
    names = tuple(name for name in names if name != "none")
    if unknown := [name for name in names if name not in CLIP_NAMES]:
        raise InputError(f"unknown motion-capture clip {', '.join(unknown)}; choose from {', '.join(CLIP_NAMES)}")
    return names


def load_clips(source: str | os.PathLike = "pybullet", names: tuple[str, ...] = CLIP_NAMES,
               fps: float = FPS) -> dict[str, np.ndarray]:
    """{clip name: joints (T, 17, 3) float64, meters, blapose world frame, z up} of the named clips
    of ``source`` (``mocap_dir``), in the order of ``names``, resampled to ``fps``."""
    folder = mocap_dir(source)
    humanoid = read_humanoid(folder / URDF_FILE)
    clips = {}
    for name in names:
        path = folder / MOTIONS_FOLDER / f"humanoid3d_{name}.txt"
        if not path.is_file():
            raise InputError(f"{path}: no such motion-capture clip")
        clips[name] = clip_joint_positions(read_clip(path), humanoid, fps)
    return clips

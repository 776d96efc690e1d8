"""Procedural human motion on the Human3.6M skeleton, for the built-in dataset.

A body is a kinematic tree driven by joint-angle channels (radians): trunk bend/twist/lean,
neck, hips, knees, shoulders, elbows, plus a root path over the floor with a heading. Each
action class is a recipe of channel targets (held poses that change every few seconds,
periodic gestures, smooth noise); the gait cycle is driven by the distance the root travels,
so legs step whenever the body moves; the root height keeps the lower foot on the floor.

Frames: body frame x forward, y left, z up; world frame z up, meters, floor at z = 0 (as in
Human3.6M). Glossary: T frames, J joints (17), B bones (16).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bones import bones_to_poses
from ..geometry.rotations import axis_angle_to_matrix
from ..skeleton import H36M

FPS = 50
ANKLE_HEIGHT = 0.08  # meters from the floor to the ankle joint
# Unit bone directions of the rest pose in the body frame (bone i ends at joint i + 1).
_REST_DIRECTIONS = np.array([
    (0.0, -1.0, -0.12), (0.0, 0.0, -1.0), (0.0, 0.0, -1.0),          # right hip, thigh, calf
    (0.0, 1.0, -0.12), (0.0, 0.0, -1.0), (0.0, 0.0, -1.0),           # left hip, thigh, calf
    (-0.04, 0.0, 1.0), (0.06, 0.0, 1.0), (0.35, 0.0, 1.0), (-0.2, 0.0, 1.0),  # spine, neck, head
    (0.0, 1.0, -0.12), (0.0, 0.0, -1.0), (0.0, 0.0, -1.0),           # left collar, upper, lower arm
    (0.0, -1.0, -0.12), (0.0, 0.0, -1.0), (0.0, 0.0, -1.0),          # right collar, upper, lower arm
])
_REST_DIRECTIONS /= np.linalg.norm(_REST_DIRECTIONS, axis=1, keepdims=True)

CHANNELS = ("trunk_bend", "trunk_twist", "trunk_lean", "neck_pitch", "neck_yaw",
            "hip_flex_r", "hip_flex_l", "hip_abd_r", "hip_abd_l", "knee_r", "knee_l",
            "shoulder_flex_r", "shoulder_flex_l", "shoulder_abd_r", "shoulder_abd_l",
            "elbow_r", "elbow_l")


def body_directions(angles: dict[str, np.ndarray], heading: np.ndarray) -> np.ndarray:
    """Unit bone directions (T, B, 3) in the world frame from joint angles (T,) and heading (T,).

    Positive flexion moves a limb forward; positive abduction moves it away from the body;
    positive knee angle bends the shank back; positive elbow angle bends the forearm forward.
    """
    a, rotate = angles, axis_angle_to_matrix  # rotate(angle (T,), axis) -> (T, 3, 3)
    root = rotate(heading, "z")
    trunk = root @ rotate(a["trunk_twist"], "z") @ rotate(a["trunk_bend"], "y") @ rotate(a["trunk_lean"], "x")
    neck = trunk @ rotate(a["neck_yaw"], "z") @ rotate(a["neck_pitch"], "y")
    rotations = {}  # rotation applied to each bone's rest direction
    rotations[0] = rotations[3] = rotations[6] = root
    for side, sign, hip_bone, collar_bone in (("r", -1.0, 0, 13), ("l", 1.0, 3, 10)):
        thigh = root @ rotate(-a[f"hip_flex_{side}"], "y") @ rotate(sign * a[f"hip_abd_{side}"], "x")
        rotations[hip_bone + 1] = thigh
        rotations[hip_bone + 2] = thigh @ rotate(a[f"knee_{side}"], "y")
        upper_arm = trunk @ rotate(-a[f"shoulder_flex_{side}"], "y") @ rotate(sign * a[f"shoulder_abd_{side}"], "x")
        rotations[collar_bone] = trunk
        rotations[collar_bone + 1] = upper_arm
        rotations[collar_bone + 2] = upper_arm @ rotate(-a[f"elbow_{side}"], "y")
    rotations[7] = trunk
    rotations[8] = rotations[9] = neck
    stacked = np.stack([rotations[b] for b in range(H36M.num_bones)], axis=1)  # (T, B, 3, 3)
    return np.einsum("tbij,bj->tbi", stacked, _REST_DIRECTIONS)


def _smooth_noise(rng: np.random.Generator, frames: int, seconds: float, amplitude: float) -> np.ndarray:
    """Gaussian noise low-passed to changes over about ``seconds``, scaled to std ``amplitude``."""
    width = max(int(seconds * FPS), 1)
    kernel = np.hanning(2 * width + 1)
    raw = rng.normal(size=frames + 2 * width)
    smooth = np.convolve(raw, kernel / kernel.sum(), mode="same")[width:width + frames]
    return smooth / (smooth.std() + 1e-12) * amplitude


def _held_targets(rng: np.random.Generator, frames: int, low: float, high: float,
                  hold: tuple[float, float], blend: float = 0.8) -> np.ndarray:
    """Values that hold a random target in [low, high] for ``hold`` seconds, then glide to the next."""
    values = np.empty(frames)
    start, current = 0, rng.uniform(low, high)
    while start < frames:
        duration = int(rng.uniform(*hold) * FPS)
        target = rng.uniform(low, high)
        ramp = min(int(blend * FPS), max(duration, 1))
        t = np.arange(duration) / ramp
        weight = np.where(t < 1, 0.5 - 0.5 * np.cos(np.pi * np.clip(t, 0, 1)), 1.0)
        values[start:start + duration] = (current + (target - current) * weight)[:frames - start]
        start, current = start + duration, target
    return values


@dataclass(frozen=True)
class Recipe:
    """How an action class moves: channel ranges of held poses, gestures, and how the root travels.

    holds: channel -> (low, high) radians, a held target redrawn every ``hold_seconds``.
    waves: channel -> (amplitude, frequency Hz) periodic gesture on top.
    speed: walking speed (m/s) along a closed path, or 0 for wandering in place.
    """

    holds: dict[str, tuple[float, float]]
    waves: dict[str, tuple[float, float]]
    speed: float = 0.0
    hold_seconds: tuple[float, float] = (2.0, 5.0)
    wander: float = 0.6  # meters of slow drift for in-place actions


_STAND = {"trunk_bend": (-0.02, 0.12), "neck_pitch": (-0.1, 0.3), "neck_yaw": (-0.5, 0.5),
          "shoulder_abd_r": (0.05, 0.25), "shoulder_abd_l": (0.05, 0.25), "elbow_r": (0.1, 0.6),
          "elbow_l": (0.1, 0.6), "knee_r": (0.0, 0.15), "knee_l": (0.0, 0.15)}
_SEATED = {"hip_flex_r": (1.35, 1.65), "hip_flex_l": (1.35, 1.65), "knee_r": (1.3, 1.7),
           "knee_l": (1.3, 1.7), "hip_abd_r": (0.05, 0.25), "hip_abd_l": (0.05, 0.25),
           "trunk_bend": (-0.15, 0.35)}

RECIPES: dict[str, Recipe] = {
    "Directions": Recipe({**_STAND, "shoulder_flex_r": (0.0, 1.5), "elbow_r": (0.0, 0.4),
                          "trunk_twist": (-0.4, 0.4)}, {"shoulder_abd_r": (0.15, 0.3)}),
    "Discussion": Recipe({**_STAND, "shoulder_flex_r": (0.2, 0.8), "shoulder_flex_l": (0.2, 0.8),
                          "elbow_r": (0.8, 1.6), "elbow_l": (0.8, 1.6)},
                         {"elbow_r": (0.3, 0.9), "elbow_l": (0.25, 0.7), "shoulder_abd_l": (0.15, 0.5)},
                         hold_seconds=(1.5, 3.0)),
    "Eating": Recipe({**_SEATED, "shoulder_flex_r": (0.4, 0.9), "shoulder_flex_l": (0.3, 0.6),
                      "elbow_r": (1.2, 1.8), "elbow_l": (1.0, 1.4), "neck_pitch": (0.1, 0.4)},
                     {"elbow_r": (0.5, 0.35), "shoulder_flex_r": (0.2, 0.35)}, wander=0.0),
    "Greeting": Recipe({**_STAND, "shoulder_flex_r": (0.3, 1.0)},
                       {"shoulder_abd_r": (0.6, 0.25), "elbow_r": (0.4, 1.8)}, hold_seconds=(1.5, 3.0),
                       wander=1.2),
    "Phoning": Recipe({**_STAND, "shoulder_flex_r": (0.3, 0.6), "shoulder_abd_r": (0.5, 0.8),
                       "elbow_r": (2.2, 2.5), "neck_pitch": (0.0, 0.3)}, {"shoulder_flex_l": (0.3, 0.4)},
                      wander=1.0),
    "Photo": Recipe({**_STAND, "shoulder_flex_r": (1.0, 1.4), "shoulder_flex_l": (1.0, 1.4),
                     "elbow_r": (1.5, 2.0), "elbow_l": (1.5, 2.0), "knee_r": (0.0, 0.7),
                     "knee_l": (0.0, 0.7), "hip_flex_r": (0.0, 0.5), "hip_flex_l": (0.0, 0.5)},
                    {"trunk_twist": (0.2, 0.15)}),
    "Posing": Recipe({**_STAND, "shoulder_flex_r": (-0.2, 2.6), "shoulder_flex_l": (-0.2, 2.6),
                      "shoulder_abd_r": (0.0, 1.4), "shoulder_abd_l": (0.0, 1.4), "elbow_r": (0.0, 2.0),
                      "elbow_l": (0.0, 2.0), "hip_abd_r": (0.0, 0.35), "trunk_lean": (-0.2, 0.2)}, {},
                     hold_seconds=(2.5, 4.5)),
    "Purchases": Recipe({**_STAND, "trunk_bend": (0.0, 0.7), "shoulder_flex_r": (0.3, 1.3),
                         "shoulder_flex_l": (0.0, 0.9), "elbow_r": (0.3, 1.4)}, {"elbow_l": (0.2, 0.5)},
                        wander=1.0),
    "Sitting": Recipe({**_SEATED, "shoulder_flex_r": (0.1, 0.9), "shoulder_flex_l": (0.1, 0.9),
                       "elbow_r": (0.5, 1.8), "elbow_l": (0.5, 1.8), "neck_yaw": (-0.6, 0.6)},
                      {"elbow_r": (0.2, 0.3)}, wander=0.0),
    "SittingDown": Recipe({"hip_flex_r": (1.2, 1.9), "hip_flex_l": (1.2, 1.9), "knee_r": (0.4, 2.2),
                           "knee_l": (0.4, 2.2), "trunk_bend": (0.0, 0.6), "shoulder_flex_r": (0.0, 0.8),
                           "shoulder_flex_l": (0.0, 0.8), "elbow_r": (0.2, 1.2), "elbow_l": (0.2, 1.2),
                           "hip_abd_r": (0.0, 0.4), "hip_abd_l": (0.0, 0.4)}, {},
                          hold_seconds=(3.0, 6.0), wander=0.0),
    "Smoking": Recipe({**_STAND, "shoulder_flex_r": (0.3, 0.7), "elbow_r": (1.4, 2.0)},
                      {"elbow_r": (0.45, 0.12), "shoulder_flex_r": (0.25, 0.12)}),
    "Waiting": Recipe({**_STAND, "elbow_r": (0.2, 1.7), "elbow_l": (0.2, 1.7), "hip_abd_r": (0.0, 0.2),
                       "hip_abd_l": (0.0, 0.2), "trunk_lean": (-0.1, 0.1)}, {"neck_yaw": (0.3, 0.08)},
                      hold_seconds=(3.0, 7.0)),
    "WalkDog": Recipe({"shoulder_flex_r": (0.5, 0.9), "elbow_r": (0.6, 1.0), "trunk_bend": (0.05, 0.2),
                       "neck_pitch": (0.2, 0.5)}, {}, speed=1.0),
    "Walking": Recipe({"neck_pitch": (0.0, 0.2), "trunk_bend": (0.0, 0.08)}, {}, speed=1.3),
    "WalkTogether": Recipe({"neck_yaw": (0.2, 0.6), "trunk_bend": (0.0, 0.1)}, {}, speed=1.1),
}


def _root_path(recipe: Recipe, frames: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Root ground position (T, 2) meters and heading (T,) radians for a recipe."""
    t = np.arange(frames) / FPS
    if recipe.speed > 0:  # laps of an ellipse, facing along the path
        a, b = rng.uniform(1.3, 1.9), rng.uniform(0.7, 1.2)
        rotation, direction = rng.uniform(0, 2 * np.pi), rng.choice([-1.0, 1.0])
        speed = recipe.speed * rng.uniform(0.85, 1.15) * (1 + 0.05 * _smooth_noise(rng, frames, 2.0, 1.0))
        perimeter = np.pi * (3 * (a + b) - np.sqrt((3 * a + b) * (a + 3 * b)))
        angle = direction * 2 * np.pi * np.cumsum(speed) / FPS / perimeter + rng.uniform(0, 2 * np.pi)
        local = np.stack([a * np.cos(angle), b * np.sin(angle)], -1)
        c, s = np.cos(rotation), np.sin(rotation)
        ground = local @ np.array([[c, s], [-s, c]])
        velocity = np.gradient(ground, axis=0)
        heading = np.unwrap(np.arctan2(velocity[:, 1], velocity[:, 0]))
        return ground, heading
    ground = np.stack([_held_targets(rng, frames, -recipe.wander, recipe.wander, (3.0, 7.0), blend=1.5)
                       for _ in range(2)], -1) + rng.uniform(-0.3, 0.3, size=2)
    heading = (_held_targets(rng, frames, -1.6, 1.6, (2.0, 6.0), blend=1.2) + rng.uniform(-np.pi, np.pi)
               + 0.05 * np.sin(2 * np.pi * 0.2 * t))
    return ground, heading


def simulate_action(action: str, lengths: np.ndarray, frames: int, rng: np.random.Generator) -> np.ndarray:
    """World-frame poses (T, 17, 3) meters of a body with bone ``lengths`` (16,) doing ``action``."""
    recipe = RECIPES[action]
    t = np.arange(frames) / FPS
    angles = {name: np.zeros(frames) for name in CHANNELS}
    for name, (low, high) in recipe.holds.items():
        angles[name] += _held_targets(rng, frames, low, high, recipe.hold_seconds)
    for name, (amplitude, frequency) in recipe.waves.items():
        wobble = amplitude * (0.5 + 0.5 * np.clip(_smooth_noise(rng, frames, 3.0, 0.6) + 0.7, 0, 1.5))
        angles[name] += wobble * np.sin(2 * np.pi * frequency * t + rng.uniform(0, 2 * np.pi))
    for name in CHANNELS:  # nobody holds perfectly still
        angles[name] += _smooth_noise(rng, frames, 0.6, 0.03)

    ground, heading = _root_path(recipe, frames, rng)
    step = np.linalg.norm(np.diff(ground, axis=0, prepend=ground[:1]), axis=1)
    speed = np.convolve(step * FPS, np.ones(15) / 15, mode="same")
    leg_length = lengths[1] + lengths[2]
    stride = 1.6 * leg_length * np.clip(0.55 + 0.35 * speed, 0.6, 1.0)
    phase = 2 * np.pi * np.cumsum(step / stride) + rng.uniform(0, 2 * np.pi)
    gait = np.clip(speed / 1.0, 0, 1)
    for side, offset in (("r", 0.0), ("l", np.pi)):
        swing = np.sin(phase + offset)
        angles[f"hip_flex_{side}"] += gait * (0.1 + 0.38 * swing)
        angles[f"knee_{side}"] += gait * (0.08 + 0.75 * np.maximum(0, np.cos(phase + offset - 0.5)) ** 2)
        arm = 0.0 if recipe.holds.get(f"shoulder_flex_{side}") else 0.32
        angles[f"shoulder_flex_{side}"] -= gait * arm * swing
        angles[f"elbow_{side}"] += gait * (0.25 + 0.1 * swing)
    angles["trunk_bend"] += gait * 0.05
    angles["trunk_twist"] += gait * 0.08 * np.sin(phase)
    for name in ("knee_r", "knee_l", "elbow_r", "elbow_l"):
        angles[name] = np.maximum(angles[name], 0.0)

    directions = body_directions(angles, heading)
    relative = bones_to_poses(directions, lengths)  # root at the origin
    lowest_ankle = relative[:, [3, 6], 2].min(axis=1)
    root = np.concatenate([ground, (ANKLE_HEIGHT - lowest_ankle)[:, None]], axis=1)
    return (relative + root[:, None, :]).astype(np.float32)

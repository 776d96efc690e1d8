"""Runs inside Blender for tests/test_bvh_blender.py: import a BVH with Blender's own importer, write bone heads.

    blender -b --factory-startup --python-exit-code 1 --python blender_bone_heads.py -- IN.bvh OUT.json

Import settings: Blender's BVH defaults, spelled out: forward -Z, up Y (a y-up file stands upright in
Blender's z-up world: the file's (x, y, z) becomes Blender's (x, -z, y)), scale 1 (file meters are
Blender units), native Euler order, the file's first frame on Blender frame 1, no frame-rate scaling.
OUT.json holds {"bones": names in Blender's order, "first_frame": int, "heads": (T, N, 3) world-space
head of every pose bone in every frame}.
"""

import json
import sys

import bpy
from io_anim_bvh import import_bvh


def open_without_universal_newlines(file, mode="r", *args, **kwargs):
    """``open`` for Blender 3.4's importer, which opens files with mode 'rU'.

    Python 3.11 removed the 'U' flag ("ValueError: invalid mode: 'rU'"); text mode reads every
    newline convention anyway, so dropping the letter changes nothing else.
    """
    return open(file, mode.replace("U", ""), *args, **kwargs)


def import_bvh_file(path: str):
    """The armature object Blender's BVH importer makes from ``path``."""
    import_bvh.open = open_without_universal_newlines  # shadows the builtin in that module only
    result = bpy.ops.import_anim.bvh(filepath=path, axis_forward="-Z", axis_up="Y", global_scale=1.0,
                                     rotate_mode="NATIVE", frame_start=1, use_fps_scale=False)
    if result != {"FINISHED"}:
        raise RuntimeError(f"Blender's BVH importer returned {result}")
    return bpy.context.view_layer.objects.active


def bone_heads(armature) -> tuple[list[str], int, list]:
    """(bone names, first frame, heads (T, N, 3) in world space) over the armature's action."""
    first, last = (round(frame) for frame in armature.animation_data.action.frame_range)
    scene = bpy.context.scene
    heads = []
    for frame in range(first, last + 1):
        scene.frame_set(frame)
        evaluated = armature.evaluated_get(bpy.context.evaluated_depsgraph_get())
        heads.append([list(evaluated.matrix_world @ bone.head) for bone in evaluated.pose.bones])
    return [bone.name for bone in armature.pose.bones], first, heads


def main() -> None:
    bvh_path, out_path = sys.argv[sys.argv.index("--") + 1:]
    names, first, heads = bone_heads(import_bvh_file(bvh_path))
    with open(out_path, "w") as file:
        json.dump({"bones": names, "first_frame": first, "heads": heads}, file)


main()

#!/usr/bin/env python3
"""Writes the tiny synthetic SMPL model and the golden values SMPLModelTests check.

No SMPL data is involved: every array is random (numpy seed 13) with the official model's
layout, at 40 vertices, 24 joints (SMPL's public kinematic tree) and 60 faces:

  tiny_smpl.npz             numpy.savez (stored), float32 arrays, posedirs [V, 3, 207],
                            kintree_table uint32 with 2**32-1 for the root, f uint32
  tiny_smpl_compressed.npz  numpy.savez_compressed (deflate), the same values as float64,
                            posedirs as smplx's [207, V*3], weights in Fortran order,
                            kintree_table int64, f int32
  golden.json               for each case: betas, global orientation, body pose, and the
                            vertices and joints of smplx's lbs(pose2rot=False); hmr2's
                            cam_crop_to_full and the pinhole projection of vertex 0

lbs() below mirrors smplx 0.1.28 smplx/lbs.py (lbs, blend_shapes, vertices2joints,
batch_rigid_transform) line for line in float64 numpy: smplx itself needs torch, whose PyPI
wheel pulls several GB of CUDA libraries, so it is not used here.

Run from this folder: python3 make_tiny_smpl.py
"""
import json

import numpy as np

V, J, F, NB = 40, 24, 60, 10
PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]

rng = np.random.default_rng(13)
v_template = (rng.standard_normal((V, 3)) * 0.3).astype(np.float32)
shapedirs = (rng.standard_normal((V, 3, NB)) * 0.02).astype(np.float32)
posedirs = (rng.standard_normal((V, 3, 9 * (J - 1))) * 0.01).astype(np.float32)
jr = rng.random((J, V)) * (rng.random((J, V)) < 0.3)
jr[np.arange(J), np.arange(J) % V] += 0.5
J_regressor = (jr / jr.sum(axis=1, keepdims=True)).astype(np.float32)
w = rng.random((V, J)) ** 4
weights = (w / w.sum(axis=1, keepdims=True)).astype(np.float32)
kintree = np.array([[2**32 - 1 if p < 0 else p for p in PARENTS], list(range(J))], dtype=np.uint32)
faces = np.array([rng.choice(V, 3, replace=False) for _ in range(F)], dtype=np.uint32)

np.savez("tiny_smpl.npz", v_template=v_template, shapedirs=shapedirs, posedirs=posedirs,
         J_regressor=J_regressor, weights=weights, kintree_table=kintree, f=faces)
np.savez_compressed("tiny_smpl_compressed.npz", v_template=v_template.astype(np.float64),
                    shapedirs=shapedirs.astype(np.float64),
                    posedirs=posedirs.astype(np.float64).reshape(-1, 9 * (J - 1)).T.copy(),
                    J_regressor=J_regressor.astype(np.float64),
                    weights=np.asfortranarray(weights.astype(np.float64)),
                    kintree_table=kintree.astype(np.int64), f=faces.astype(np.int32))


# --- smplx/lbs.py, pose2rot=False, batch of 1, float64 ---------------------------------------
def blend_shapes(betas, shape_disps):
    return np.einsum("bl,mkl->bmk", betas, shape_disps)


def vertices2joints(J_regressor, vertices):
    return np.einsum("bik,ji->bjk", vertices, J_regressor)


def transform_mat(R, t):
    top = np.concatenate([R, t], axis=2)
    bottom = np.tile(np.array([[[0.0, 0.0, 0.0, 1.0]]]), (R.shape[0], 1, 1))
    return np.concatenate([top, bottom], axis=1)


def batch_rigid_transform(rot_mats, joints, parents):
    joints = joints[..., None]
    rel_joints = joints.copy()
    rel_joints[:, 1:] -= joints[:, parents[1:]]
    transforms_mat = transform_mat(rot_mats.reshape(-1, 3, 3), rel_joints.reshape(-1, 3, 1)).reshape(-1, joints.shape[1], 4, 4)
    chain = [transforms_mat[:, 0]]
    for i in range(1, parents.shape[0]):
        chain.append(chain[parents[i]] @ transforms_mat[:, i])
    transforms = np.stack(chain, axis=1)
    posed_joints = transforms[:, :, :3, 3]
    joints_homogen = np.pad(joints, [(0, 0), (0, 0), (0, 1), (0, 0)])
    rel_transforms = transforms - np.pad(transforms @ joints_homogen, [(0, 0), (0, 0), (0, 0), (3, 0)])
    return posed_joints, rel_transforms


def lbs(betas, pose, v_template, shapedirs, posedirs, J_regressor, parents, lbs_weights):
    batch = betas.shape[0]
    v_shaped = v_template + blend_shapes(betas, shapedirs)
    joints = vertices2joints(J_regressor, v_shaped)
    pose_feature = pose[:, 1:].reshape(batch, -1, 3, 3) - np.eye(3)
    rot_mats = pose.reshape(batch, -1, 3, 3)
    pose_offsets = (pose_feature.reshape(batch, -1) @ posedirs).reshape(batch, -1, 3)
    v_posed = pose_offsets + v_shaped
    j_transformed, A = batch_rigid_transform(rot_mats, joints, parents)
    T = (lbs_weights[None] @ A.reshape(batch, J, 16)).reshape(batch, -1, 4, 4)
    v_posed_homo = np.concatenate([v_posed, np.ones((batch, v_posed.shape[1], 1))], axis=2)
    v_homo = T @ v_posed_homo[..., None]
    return v_homo[:, :, :3, 0], j_transformed


# --- hmr2/utils/renderer.py cam_crop_to_full, and the pinhole camera of render_rgba_multiple --
def cam_crop_to_full(cam_bbox, box_center, box_size, img_size, focal_length):
    w_2, h_2 = img_size[0] / 2.0, img_size[1] / 2.0
    bs = box_size * cam_bbox[0] + 1e-9
    return np.array([2 * (box_center[0] - w_2) / bs + cam_bbox[1], 2 * (box_center[1] - h_2) / bs + cam_bbox[2], 2 * focal_length / bs])


def rotation(axis, angle):
    axis = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K


posedirs_flat = posedirs.astype(np.float64).reshape(-1, 9 * (J - 1)).T
cases = []
case_rng = np.random.default_rng(7)
for name in ["identity", "rotations", "tokenizer_like"]:
    if name == "identity":
        betas = np.zeros(NB); mats = np.tile(np.eye(3), (J, 1, 1))
    elif name == "rotations":
        betas = case_rng.uniform(-3, 3, NB)
        mats = np.stack([rotation(case_rng.standard_normal(3), case_rng.uniform(-1.5, 1.5)) for _ in range(J)])
    else:  # the pose tokenizer's matrices are not exactly orthonormal, and the global one is quantised
        betas = np.round(case_rng.uniform(-3, 3, NB) * 166.5) / 166.5
        mats = np.stack([rotation(case_rng.standard_normal(3), case_rng.uniform(-1, 1)) for _ in range(J)]) + case_rng.normal(0, 0.05, (J, 3, 3))
    betas = betas.astype(np.float32).astype(np.float64)
    mats = mats.astype(np.float32).astype(np.float64)
    verts, joints = lbs(betas[None], mats[None], v_template.astype(np.float64), shapedirs.astype(np.float64), posedirs_flat,
                        J_regressor.astype(np.float64), np.array(PARENTS), weights.astype(np.float64))
    camera = np.array([0.9, 0.05, -0.1], dtype=np.float32).astype(np.float64)
    box = np.array([250.0, 200.0, 750.0, 850.0]) / 999 * 224
    center = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    size = max((center[0] - box[0]) * 2, (center[1] - box[1]) * 2)
    focal = 5000.0 / 256.0 * 224
    cam_t = cam_crop_to_full(camera, center, size, (224.0, 224.0), focal)
    p = verts[0, 0] + cam_t
    pixel = [focal * p[0] / p[2] + 112.0, focal * p[1] / p[2] + 112.0]
    cases.append({"name": name, "betas": betas.tolist(), "global_orient": mats[0].reshape(-1).tolist(),
                  "body_pose": mats[1:].reshape(-1).tolist(), "vertices": verts[0].tolist(), "joints": joints[0].tolist(),
                  "camera": camera.tolist(), "box_center": center.tolist(), "box_size": float(size), "image_size": 224,
                  "focal_length": focal, "cam_t": cam_t.tolist(), "vertex0_pixel": pixel})

with open("golden.json", "w") as f:
    json.dump({"vertex_count": V, "joint_count": J, "face_count": F, "parents": PARENTS, "cases": cases}, f)

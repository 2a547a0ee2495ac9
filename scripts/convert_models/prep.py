"""Pre- and post-processing used by the fidelity checks, written to match what models/MODELS.md documents
(and what the Rust engine implements): pad to square, bilinear resize, BlazeFace anchors and decoding,
FaceMesh crop, 4-point similarity alignment for MobileFaceNet."""
import numpy as np
from PIL import Image

# ArcFace 112x112 5-point template; the 4-point version used with BlazeFace replaces the two mouth
# corners by their mean (the detector gives a mouth centre).
ARCFACE_5 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                      [41.5493, 92.3655], [70.7299, 92.2041]], np.float64)
ARCFACE_4 = np.vstack([ARCFACE_5[:3], ARCFACE_5[3:].mean(0, keepdims=True)])


def load_rgb(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def pad_square(img):
    """Zero-pad an HxWx3 uint8 image at the bottom/right to a square; returns (square, side)."""
    h, w = img.shape[:2]
    side = max(h, w)
    out = np.zeros((side, side, 3), np.uint8)
    out[:h, :w] = img
    return out, side


def resize(img, size):
    return np.asarray(Image.fromarray(img).resize((size, size), Image.BILINEAR), dtype=np.uint8)


def blazeface_input(img, size):
    """[1,size,size,3] float32 in [-1,1] and the factor from model pixels to image pixels."""
    sq, side = pad_square(img)
    x = resize(sq, size).astype(np.float32) / 127.5 - 1.0
    return x[None], side / size


def blazeface_anchors(size):
    """Anchor centres in model pixels: stride size/16 with 2 anchors per cell, then size/8 with 6."""
    out = []
    for stride, per_cell in ((size // 16, 2), (size // 8, 6)):
        grid = size // stride
        for y in range(grid):
            for x in range(grid):
                out.extend([((x + 0.5) * stride, (y + 0.5) * stride)] * per_cell)
    return np.array(out, np.float32)


def iou(a, b):
    x1, y1 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    x2, y2 = np.minimum(a[2], b[:, 2]), np.minimum(a[3], b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda r: (r[..., 2] - r[..., 0]) * (r[..., 3] - r[..., 1])
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def blazeface_decode(logits, regs, size, scale, min_score=0.5, nms_iou=0.3):
    """logits [A], regs [A,16] -> list of dicts (score, box x1y1x2y2, kps [6,2]) in image pixels."""
    anchors = blazeface_anchors(size)
    if len(anchors) != len(logits):
        raise ValueError(f"{len(logits)} rows, {len(anchors)} anchors for size {size}")
    score = 1.0 / (1.0 + np.exp(-np.clip(logits, -80, 80)))
    centre = regs[:, 0:2] + anchors
    wh = regs[:, 2:4]
    boxes = np.concatenate([centre - wh / 2, centre + wh / 2], 1)
    kps = regs[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
    order = [i for i in np.argsort(-score, kind="stable") if score[i] > min_score]
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        if order:
            ov = iou(boxes[i], boxes[order])
            order = [j for j, o in zip(order, ov) if o <= nms_iou]
    return [{"score": float(score[i]), "box": boxes[i] * scale, "kps": kps[i] * scale} for i in keep]


def facemesh_input(img, box, size=192, enlarge=1.4):
    """Square crop around the detector box, enlarged, resized to size, RGB in [0,1]."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = max(box[2] - box[0], box[3] - box[1]) * enlarge / 2
    left, top = int(round(cx - half)), int(round(cy - half))
    side = max(int(round(2 * half)), 1)
    crop = Image.fromarray(img).crop((left, top, left + side, top + side))  # outside -> black
    x = np.asarray(crop.resize((size, size), Image.BILINEAR), dtype=np.float32) / 255.0
    return x[None]


def similarity(src, dst):
    """Least-squares similarity transform (no reflection) mapping src points onto dst: 2x3 matrix."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s0, d0 = src - ms, dst - md
    cov = d0.T @ s0 / len(src)
    u, sv, vt = np.linalg.svd(cov)
    d = np.array([1.0, 1.0 if np.linalg.det(u) * np.linalg.det(vt) >= 0 else -1.0])
    rot = u @ np.diag(d) @ vt
    scale = (sv * d).sum() / ((s0 ** 2).sum() / len(src))
    t = md - scale * rot @ ms
    return np.hstack([scale * rot, t[:, None]])


def align_112(img, kps4):
    """Warp the face so that (right eye, left eye, nose tip, mouth centre) land on ARCFACE_4;
    returns [1,112,112,3] float32, (x - 127.5) / 128."""
    m = np.vstack([similarity(kps4, ARCFACE_4), [0.0, 0.0, 1.0]])
    inv = np.linalg.inv(m)  # PIL wants output -> input
    coeffs = tuple(inv[0]) + tuple(inv[1])
    out = Image.fromarray(img).transform((112, 112), Image.AFFINE, coeffs, resample=Image.BILINEAR)
    x = (np.asarray(out, dtype=np.float32) - 127.5) / 128.0
    return x[None]


def l2norm(v):
    v = np.asarray(v, np.float64)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)

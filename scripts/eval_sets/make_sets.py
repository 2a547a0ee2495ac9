#!/usr/bin/env python3
"""Build harder face-verification evaluation sets from the shared LFW calibration set and the
deepface photos, for `scripts/eval` (`make eval`). They are derived from the shared evaluation
data, so they are written outside the repository and never committed:

    EVAL_DIR=../shared/eval OUT_DIR=~/.cache/facekiosk/eval-sets python make_sets.py
    ... make_sets.py --only small-in-large

Each set is a flat directory of JPEGs plus labels.csv (`file,identity`). Two source families are
kept apart so each can be evaluated alone:  sets/lfw/<set>/  and  sets/deepface/<set>/ .
Sets: lfw-flat (lfw only, plain copy), small-in-large, second-face, gray-jpeg30, downscaled, mixed.
Ground truth (where the labelled face ended up, what was done to each image) goes to
sets/meta/<family>-<set>.json, outside the set directories.

"Face width" everywhere = width of the MTCNN box of the labelled face on the original image
(reference MTCNN from $EVAL_DIR/scripts/facelib.py, minsize 20; LFW: the detection nearest
the image centre; deepface: the largest detection). Fixed seed: SEED below.
"""
import argparse
import csv
import json
import os
import sys

import cv2
import numpy as np
from PIL import Image, ImageOps

EVAL_DIR = os.path.abspath(os.environ.get('EVAL_DIR', os.path.join(os.path.dirname(__file__), '../../../shared/eval')))
sys.path.insert(0, os.path.join(EVAL_DIR, 'scripts'))
import facelib  # noqa: E402

SEED = 20251202
OUT = os.path.abspath(os.path.expanduser(os.environ.get('OUT_DIR', '~/.cache/facekiosk/eval-sets')))
LFW = os.path.join(EVAL_DIR, 'calibration')
DF = os.path.join(EVAL_DIR, 'faces-deepface')
N_ID = 300           # LFW identities (2 images each -> 600 images)
N_DISTRACT = 300     # LFW images of other identities, used only as second faces / never labelled
CANVASES = [(1200, 1600), (1600, 1200), (1920, 1080)]  # (w, h)


# ----------------------------------------------------------------------------- io

def load(path):
    im = ImageOps.exif_transpose(Image.open(path)).convert('RGB')
    return np.ascontiguousarray(np.asarray(im))


def save_jpeg(path, img, quality=92, gray=False):
    if gray:
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        Image.fromarray(g, 'L').save(path, quality=quality)
    else:
        Image.fromarray(img).save(path, quality=quality)


# ----------------------------------------------------------------------------- ground truth

_mtcnn = None


def mtcnn():
    global _mtcnn
    if _mtcnn is None:
        _mtcnn = facelib.MTCNN()
    return _mtcnn


def ground_truth(img, rule):
    """(box[x1,y1,x2,y2], kps[5,2]) of the labelled face on an original image."""
    h, w = img.shape[:2]
    s = 1.0
    work = img
    if max(h, w) > 2048:  # MTCNN on a 4600-px photo is slow and gains nothing for big faces
        s = 2048 / max(h, w)
        work = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    dets = mtcnn()(work, minsize=20)
    if not dets:
        return None
    if rule == 'centre':
        c = np.array([work.shape[1] / 2, work.shape[0] / 2])
        d = min(dets, key=lambda t: np.linalg.norm((t[0][:2] + t[0][2:4]) / 2 - c))
    else:
        d = max(dets, key=lambda t: (t[0][2] - t[0][0]) * (t[0][3] - t[0][1]))
    return (np.asarray(d[0][:4], float) / s), (np.asarray(d[2], float) / s)


# ----------------------------------------------------------------------------- helpers

def resize(img, s):
    h, w = img.shape[:2]
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    return cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def background(rng, w, h):
    """A synthetic scene background without faces: gradient + low-frequency colour blobs, or a
    texture (blurred noise, stripes, rectangles like walls and furniture)."""
    kind = rng.integers(3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c0, c1 = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    ang = rng.uniform(0, np.pi)
    t = (np.cos(ang) * xx / w + np.sin(ang) * yy / h)
    t = (t - t.min()) / max(1e-6, t.max() - t.min())
    bg = c0[None, None] * (1 - t[..., None]) + c1[None, None] * t[..., None]
    low = cv2.resize(rng.normal(0, 30, (6, 8, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    bg += low
    if kind == 1:  # fine texture (grass, carpet, gravel)
        tex = rng.normal(0, 1, (h, w)).astype(np.float32)
        tex = cv2.GaussianBlur(tex, (0, 0), rng.uniform(0.8, 3.0))
        tex = tex / (tex.std() + 1e-6) * rng.uniform(10, 30)
        bg += tex[..., None] * rng.uniform(0.6, 1.0, 3)[None, None]
    elif kind == 2:  # man-made: stripes and rectangles
        period = rng.uniform(20, 120)
        stripes = np.sin(2 * np.pi * (xx if rng.random() < .5 else yy) / period) * rng.uniform(5, 25)
        bg += stripes[..., None]
        for _ in range(rng.integers(3, 9)):
            x0, y0 = rng.integers(0, w), rng.integers(0, h)
            rw, rh = rng.integers(w // 10, w // 2), rng.integers(h // 10, h // 2)
            bg[y0:y0 + rh, x0:x0 + rw] = bg[y0:y0 + rh, x0:x0 + rw] * 0.4 + rng.uniform(20, 235, 3) * 0.6
        bg = cv2.GaussianBlur(bg, (0, 0), 1.5)
    bg += rng.normal(0, 3, bg.shape)
    return np.clip(bg, 0, 255).astype(np.uint8)


def feather_rect(h, w, frac=0.07):
    r = max(2, int(round(min(h, w) * frac)))
    ry = np.minimum(np.arange(h), np.arange(h)[::-1]).astype(np.float32)
    rx = np.minimum(np.arange(w), np.arange(w)[::-1]).astype(np.float32)
    return np.clip(np.minimum(ry[:, None], rx[None, :]) / r, 0, 1)


def paste(canvas, patch, mask, x0, y0):
    """Alpha-blend patch (with mask in 0..1) into canvas at integer (x0, y0), clipped."""
    H, W = canvas.shape[:2]
    h, w = patch.shape[:2]
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x0 + w), min(H, y0 + h)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    p = patch[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0].astype(np.float32)
    m = mask[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0, None]
    c = canvas[cy0:cy1, cx0:cx1].astype(np.float32)
    canvas[cy0:cy1, cx0:cx1] = np.clip(c * (1 - m) + p * m, 0, 255).astype(np.uint8)


class Sample:
    """An image with its labelled face (box x1,y1,x2,y2 and 5 MTCNN points) and a log of operations."""

    def __init__(self, img, box, kps):
        self.img, self.box, self.kps = img, np.asarray(box, float), np.asarray(kps, float)
        self.ops = []
        self.gray = False
        self.quality = 92
        self.distractor = None

    def move(self, s, dx, dy):
        self.box = self.box * s + np.array([dx, dy, dx, dy])
        self.kps = self.kps * s + np.array([dx, dy])
        if self.distractor is not None:
            self.distractor = self.distractor * s + np.array([dx, dy, dx, dy])

    @property
    def fw(self):
        return self.box[2] - self.box[0]


# ----------------------------------------------------------------------------- transforms

def t_small_in_large(smp, rng):
    fw_target = rng.uniform(40, 70)
    s = fw_target / smp.fw
    photo = resize(smp.img, s)
    smp.move(photo.shape[1] / smp.img.shape[1], 0, 0)
    W, H = CANVASES[rng.integers(len(CANVASES))]
    # a photo too large for the canvas is cut around the face (at most 80 % of each side)
    ph, pw = photo.shape[:2]
    mw, mh = int(0.8 * W), int(0.8 * H)
    if pw > mw or ph > mh:
        cw, ch = min(pw, mw), min(ph, mh)
        fx0, fy0, fx1, fy1 = smp.box
        x0 = int(np.clip(rng.uniform(fx1 - cw, fx0), 0, pw - cw))
        y0 = int(np.clip(rng.uniform(fy1 - ch, fy0), 0, ph - ch))
        photo = photo[y0:y0 + ch, x0:x0 + cw]
        smp.move(1.0, -x0, -y0)
    ph, pw = photo.shape[:2]
    canvas = background(rng, W, H)
    x0, y0 = int(rng.integers(0, W - pw + 1)), int(rng.integers(0, H - ph + 1))
    paste(canvas, photo, feather_rect(ph, pw), x0, y0)
    smp.move(1.0, x0, y0)
    smp.img = canvas
    smp.ops.append({'op': 'small-in-large', 'face_px': round(float(smp.fw), 1), 'canvas': [W, H],
                    'photo_at': [x0, y0, pw, ph]})


def t_second_face(smp, rng, pool):
    """pool: list of (img, box) of other identities. Adds one of them at the side."""
    img = smp.img
    H, W = img.shape[:2]
    fw = smp.fw
    cx, cy = (smp.box[0] + smp.box[2]) / 2, (smp.box[1] + smp.box[3]) / 2
    d_img, d_box = pool[rng.integers(len(pool))]
    ratio = rng.uniform(0.65, 0.9)
    dfw = ratio * fw
    side = np.sign(cx - W / 2) if abs(cx - W / 2) > 0.05 * W else (1 if rng.random() < .5 else -1)
    dx = rng.uniform(1.3, 1.7) * fw
    dcx, dcy = cx + side * dx, cy + rng.uniform(-0.25, 0.25) * fw
    visible = rng.uniform(0.6, 1.0)  # share of the second face box inside the frame
    if side > 0:
        need = dcx - dfw / 2 + visible * dfw - W
    else:
        need = -(dcx + dfw / 2 - visible * dfw)
    pad = int(np.ceil(max(0.0, need)))
    if pad > 0:  # widen the frame symmetrically (the labelled face stays central): blurred edge colours
        ext = cv2.copyMakeBorder(img, 0, 0, pad, pad, cv2.BORDER_REPLICATE)
        blur = cv2.GaussianBlur(ext, (0, 0), max(2.0, 0.02 * H))
        noise = rng.normal(0, 3, blur.shape)
        blur = np.clip(blur + noise, 0, 255).astype(np.uint8)
        blur[:, pad:pad + W] = img
        img = blur
        smp.move(1.0, pad, 0)
        dcx += pad
        W = img.shape[1]
    # the second person: a square around the face (with some neck), soft elliptical mask
    dbw = d_box[2] - d_box[0]
    dcx0, dcy0 = (d_box[0] + d_box[2]) / 2, (d_box[1] + d_box[3]) / 2 + 0.15 * dbw
    half = 1.0 * dbw
    src = cv2.copyMakeBorder(d_img, int(half) + 2, int(half) + 2, int(half) + 2, int(half) + 2, cv2.BORDER_REPLICATE)
    o = int(half) + 2
    x0s, y0s = int(round(dcx0 - half)) + o, int(round(dcy0 - half)) + o
    patch = src[y0s:y0s + int(2 * half), x0s:x0s + int(2 * half)]
    s = dfw / dbw
    patch = resize(patch, s)
    ph, pw = patch.shape[:2]
    yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float32)
    ell = ((xx - pw / 2) / (0.40 * pw)) ** 2 + ((yy - ph / 2) / (0.50 * ph)) ** 2
    mask = np.clip((1.15 - ell) / 0.3, 0, 1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.03 * pw))
    # face centre of the patch in patch pixels
    fcx, fcy = (dcx0 - (x0s - o) + 0) * s, (dcy0 - 0.15 * dbw - (y0s - o)) * s
    px0, py0 = int(round(dcx - fcx)), int(round(dcy - fcy))
    out = img.copy()
    paste(out, patch, mask, px0, py0)
    smp.img = out
    smp.distractor = np.array([dcx - dfw / 2, dcy - dfw / 2, dcx + dfw / 2, dcy + dfw / 2])
    smp.ops.append({'op': 'second-face', 'ratio': round(float(ratio), 3), 'visible': round(float(visible), 2),
                    'side': int(side), 'pad': pad})


def t_gray_jpeg(smp, rng):
    mode = ['gray', 'jpeg30', 'gray+jpeg30'][rng.integers(3)]
    smp.gray = 'gray' in mode
    if 'jpeg30' in mode:
        smp.quality = 30
    smp.ops.append({'op': 'gray-jpeg30', 'mode': mode})


def t_downscaled(smp, rng):
    fw_target = rng.uniform(30, 50)
    s = fw_target / smp.fw
    h, w = smp.img.shape[:2]
    s = max(s, 48 / min(h, w))  # keep the image at least 48 px (the engine refuses < 32 px)
    smp.img = resize(smp.img, s)
    smp.move(smp.img.shape[1] / w, 0, 0)
    smp.ops.append({'op': 'downscaled', 'face_px': round(float(smp.fw), 1)})


def t_mixed(smp, rng, pool):
    did = False
    if rng.random() < 0.5:
        t_second_face(smp, rng, pool)
        did = True
    u = rng.random()
    if u < 0.35:
        t_small_in_large(smp, rng)
        did = True
    elif u < 0.65:
        t_downscaled(smp, rng)
        did = True
    if rng.random() < 0.5 or not did:
        t_gray_jpeg(smp, rng)


# ----------------------------------------------------------------------------- main

def lfw_selection():
    rows = list(csv.DictReader(open(os.path.join(LFW, 'labels.csv'))))
    by_id = {}
    for r in rows:
        by_id.setdefault(r['identity'], []).append(r['file'])
    ids = sorted(by_id)
    rng = np.random.default_rng(SEED)
    perm = rng.permutation(len(ids))
    chosen = [ids[i] for i in perm[:N_ID]]
    others = [ids[i] for i in perm[N_ID:N_ID + N_DISTRACT]]
    items = [(f, i) for i in sorted(chosen) for f in sorted(by_id[i])]
    distract = [by_id[i][0] for i in sorted(others)]
    return items, distract


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', nargs='*')
    args = ap.parse_args()
    os.makedirs(os.path.join(OUT, 'meta'), exist_ok=True)
    gt_path = os.path.join(OUT, 'meta', 'ground_truth_originals.json')
    gt = json.load(open(gt_path)) if os.path.exists(gt_path) else {}

    lfw_items, lfw_distract = lfw_selection()
    df_items = [(r['file'], r['identity']) for r in csv.DictReader(open(os.path.join(DF, 'labels.csv')))]

    def original(family, rel):
        path = os.path.join(LFW, 'images', rel) if family == 'lfw' else os.path.join(DF, rel)
        img = load(path)
        key = f'{family}:{rel}'
        if key not in gt:
            r = ground_truth(img, 'centre' if family == 'lfw' else 'largest')
            if r is None:  # fall back: LFW crops are centred on the labelled face, ~93 px
                h, w = img.shape[:2]
                b = np.array([w / 2 - 46, h / 2 - 50, w / 2 + 46, h / 2 + 42])
                k = np.array([[w / 2 - 17, h / 2 - 10], [w / 2 + 17, h / 2 - 10], [w / 2, h / 2 + 8],
                              [w / 2 - 14, h / 2 + 25], [w / 2 + 14, h / 2 + 25]])
                r = (b, k)
                print('no MTCNN face, default box:', key, flush=True)
            gt[key] = {'box': [float(v) for v in r[0]], 'kps': np.asarray(r[1]).tolist()}
        return img, np.array(gt[key]['box']), np.array(gt[key]['kps'])

    # distractor pools
    pools = {'lfw': [], 'deepface': []}
    for rel in lfw_distract:
        img, box, _ = original('lfw', rel)
        pools['lfw'].append((img, box, rel))
    for rel, ident in df_items:
        img, box, _ = original('deepface', rel)
        pools['deepface'].append((img, box, rel, ident))
    json.dump(gt, open(gt_path, 'w'))

    sets = ['lfw-flat', 'small-in-large', 'second-face', 'gray-jpeg30', 'downscaled', 'mixed']
    if args.only:
        sets = [s for s in sets if s in args.only]
    for family, items in (('lfw', lfw_items), ('deepface', df_items)):
        for si, name in enumerate(sets):
            if family == 'deepface' and name == 'lfw-flat':
                continue
            d = os.path.join(OUT, family, name)
            os.makedirs(d, exist_ok=True)
            for f in os.listdir(d):
                os.remove(os.path.join(d, f))
            rng = np.random.default_rng([SEED, si, 0 if family == 'lfw' else 1])
            meta = {}
            with open(os.path.join(d, 'labels.csv'), 'w', newline='') as fh:
                fh.write('file,identity\n')
                for rel, ident in items:
                    fname = os.path.basename(rel)
                    img, box, kps = original(family, rel)
                    smp = Sample(img, box, kps)
                    if family == 'lfw':
                        pool = [(p[0], p[1]) for p in pools['lfw']]
                    else:
                        pool = [(p[0], p[1]) for p in pools['deepface'] if p[3] != ident]
                    if name == 'lfw-flat':
                        pass
                    elif name == 'small-in-large':
                        t_small_in_large(smp, rng)
                    elif name == 'second-face':
                        t_second_face(smp, rng, pool)
                    elif name == 'gray-jpeg30':
                        t_gray_jpeg(smp, rng)
                    elif name == 'downscaled':
                        t_downscaled(smp, rng)
                    elif name == 'mixed':
                        t_mixed(smp, rng, pool)
                    out = os.path.join(d, fname)
                    if name == 'lfw-flat':
                        with open(os.path.join(LFW, 'images', rel), 'rb') as src, open(out, 'wb') as dst:
                            dst.write(src.read())
                    else:
                        save_jpeg(out, smp.img, smp.quality, smp.gray)
                    fh.write(f'{fname},{ident}\n')
                    meta[fname] = {'identity': ident, 'source': f'{family}:{rel}',
                                   'size': [int(smp.img.shape[1]), int(smp.img.shape[0])],
                                   'box': [round(float(v), 2) for v in smp.box],
                                   'kps': np.round(smp.kps, 2).tolist(),
                                   'distractor': None if smp.distractor is None else [round(float(v), 2) for v in smp.distractor],
                                   'ops': smp.ops}
            json.dump(meta, open(os.path.join(OUT, 'meta', f'{family}-{name}.json'), 'w'), indent=0)
            print(f'{family}/{name}: {len(meta)} images', flush=True)


if __name__ == '__main__':
    main()

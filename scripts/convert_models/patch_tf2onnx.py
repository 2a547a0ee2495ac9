"""Applies FaceKiosk's fixes to the tf2onnx 1.17.0 installed in the converter's venv.

Usage: python patch_tf2onnx.py            (patch the tf2onnx importable from this interpreter)
       python patch_tf2onnx.py --check    (exit 1 unless every fix is in place)

Each fix names the exact text it expects. A fix whose patched text is already there is skipped,
so running this twice is harmless. If neither the original nor the patched text is found (another
tf2onnx version, or an upstream change), it stops with an error instead of guessing.

The fixes (see models/MODELS.md, "Conversion"):
  1. numpy 2 removed `np.product`; tf2onnx 1.17.0 still calls it (tfjs weights, graph size check).
  2. tfjs graphs hold `_FusedConv2D` / `FusedDepthwiseConv2dNative` / `_FusedMatMul` nodes without the
     `TArgs` attribute that TensorFlow's op registry requires, so TF shape inference rejects them
     ("NodeDef missing attr 'TArgs'"). We add TArgs = dtypes of the extra (`args`) inputs.
  3. tflite FULLY_CONNECTED with an input of rank > 2: the handler inserts a Reshape and rebuilds the
     node's inputs from [reshape, weights] only, dropping the bias. The conversion succeeds and the
     model is silently wrong. We keep every input after the first.
  4. Determinism only (no effect on the computation): when tf2onnx merges duplicated nodes it keeps
     whichever comes first in an order that depends on object ids, so the surviving node's name
     changes from run to run. We keep the one with the smallest name.
"""
import importlib.util
import os
import sys

EXPECTED_VERSION = "1.17.0"

PATCH_TAG = "# facekiosk-patch"

FIXES = [
    {
        "name": "np.product -> np.prod (tfjs weights)",
        "file": "tfjs_utils.py",
        "old": "    count = np.product(weight['shape'], dtype=np.int64)\n",
        "new": "    count = np.prod(weight['shape'], dtype=np.int64)  " + PATCH_TAG + " numpy 2\n",
    },
    {
        "name": "np.product -> np.prod (graph size check)",
        "file": "graph.py",
        "old": "        if np.product(a.t.dims) > external_tensor_storage.external_tensor_size_threshold:\n",
        "new": "        if np.prod(a.t.dims) > external_tensor_storage.external_tensor_size_threshold:  "
               + PATCH_TAG + " numpy 2\n",
    },
    {
        "name": "TArgs attr for fused tfjs ops",
        "file": "tfjs_utils.py",
        "old": "        out_dtypes = get_output_dtypes(op_type, tf_attr, inp_dtypes)\n"
               "        out_shapes = get_output_shapes(node_def, inp_dtypes, inp_shapes, inp_consts)\n",
        "new": "        if op_type in (\"_FusedConv2D\", \"_FusedDepthwiseConv2dNative\", \"_FusedMatMul\") \\\n"
               "                and \"TArgs\" not in node_def.attr:  " + PATCH_TAG + " TArgs\n"
               "            # TF's registry requires TArgs (dtypes of the fused `args` inputs); tfjs omits it.\n"
               "            node_def.attr[\"TArgs\"].list.type.extend(inp_dtypes[2:])\n"
               "        out_dtypes = get_output_dtypes(op_type, tf_attr, inp_dtypes)\n"
               "        out_shapes = get_output_shapes(node_def, inp_dtypes, inp_shapes, inp_consts)\n",
    },
    {
        "name": "FULLY_CONNECTED rank>2 keeps its bias",
        "file": os.path.join("tflite_handlers", "tfl_math.py"),
        "old": "            ctx.replace_inputs(node, [reshape_node.output[0], node.input[1]])\n",
        "new": "            ctx.replace_inputs(node, [reshape_node.output[0]] + list(node.input[1:]))  "
               + PATCH_TAG + " bias\n",
    },
    {
        "name": "deterministic choice among duplicated nodes",
        "file": os.path.join("optimizer", "merge_duplicated_nodes_optimizer.py"),
        "old": "        nodes_to_process.sort(key=self._len_of_node_output, reverse=True)\n",
        "new": "        nodes_to_process.sort(key=lambda n: (-self._len_of_node_output(n), n.name))  "
               + PATCH_TAG + " determinism\n",
    },
]


def die(msg):
    print("patch_tf2onnx: error: " + msg, file=sys.stderr)
    sys.exit(1)


def package_dir():
    spec = importlib.util.find_spec("tf2onnx")
    if spec is None or not spec.submodule_search_locations:
        die("tf2onnx is not installed in " + sys.prefix)
    return list(spec.submodule_search_locations)[0]


def installed_version(pkg):
    path = os.path.join(pkg, "version.py")
    scope = {}
    try:
        with open(path, encoding="utf-8") as f:
            exec(compile(f.read(), path, "exec"), scope)  # tf2onnx/version.py only assigns strings
    except OSError as e:
        die(f"cannot read {path}: {e}")
    return scope.get("version", "?")


def main():
    check_only = "--check" in sys.argv[1:]
    pkg = package_dir()
    version = installed_version(pkg)
    if version != EXPECTED_VERSION:
        die(f"tf2onnx {version} found in {pkg}; these fixes are written for {EXPECTED_VERSION}")

    texts = {}
    missing = []
    changed = set()
    for fix in FIXES:
        path = os.path.join(pkg, fix["file"])
        if path not in texts:
            try:
                with open(path, encoding="utf-8") as f:
                    texts[path] = f.read()
            except OSError as e:
                die(f"cannot read {path}: {e}")
        text = texts[path]
        if text.count(fix["new"]) == 1:
            continue  # already applied (the patched text may contain the original, e.g. an insertion)
        n = text.count(fix["old"])
        if n != 1:
            die(f"fix '{fix['name']}': expected the original text exactly once in {path}, found it {n} times "
                f"(and the patched text {text.count(fix['new'])} times). Text looked for:\n{fix['old']}")
        if check_only:
            missing.append(fix["name"])
            continue
        texts[path] = text.replace(fix["old"], fix["new"])
        changed.add(path)

    # numpy 2 has no np.product at all: make sure no call site is left anywhere in the package.
    leftovers = []
    for root, _dirs, files in os.walk(pkg):
        for name in files:
            if name.endswith(".py"):
                p = os.path.join(root, name)
                t = texts.get(p)
                if t is None:
                    with open(p, encoding="utf-8") as f:
                        t = f.read()
                if "np.product(" in t or "numpy.product(" in t:
                    leftovers.append(p)
    if leftovers and not check_only:
        die("np.product is still called in: " + ", ".join(sorted(leftovers)))

    if check_only:
        if missing or leftovers:
            die("tf2onnx in " + pkg + " lacks: " + ", ".join(missing + ["np.product in " + p for p in leftovers]))
        return

    for path in sorted(changed):
        tmp = path + ".facekiosk-tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(texts[path])
        os.replace(tmp, path)
        # drop stale bytecode so the patched source is what runs
        cache = os.path.join(os.path.dirname(path), "__pycache__")
        stem = os.path.splitext(os.path.basename(path))[0] + "."
        if os.path.isdir(cache):
            for c in os.listdir(cache):
                if c.startswith(stem):
                    os.remove(os.path.join(cache, c))


if __name__ == "__main__":
    main()

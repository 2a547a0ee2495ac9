"""Graph edits applied after tf2onnx: stable names (byte-reproducible output) and MobileFaceNet's batch fix."""
import re

import numpy as np
import onnx
from onnx import numpy_helper

# Names tf2onnx invents carry a global counter: "<base>__<n>", e.g. const_fold_opt__412, conv2d__48:0.
# The counter's values depend on the order in which tf2onnx's optimisers visit nodes, and that order
# depends on Python object ids, so they change from one run to the next although the graph does not.
_GENERATED = re.compile(r"^(?P<stem>(?P<base>.+?)__(?P<num>\d+))(?P<port>:\d+)?$")


class EditError(RuntimeError):
    pass


def stabilise_names(model: onnx.ModelProto, doc_string: str) -> onnx.ModelProto:
    """Renumbers tf2onnx's generated names in order of first appearance in the node list, puts the
    initializers in order of first use and sets a fixed graph doc_string. The computation is unchanged."""
    g = model.graph
    if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for n in g.node for a in n.attribute):
        raise EditError("graphs with subgraphs (If/Loop/Scan) are not handled by stabilise_names")
    keep = {v.name for v in g.input} | {v.name for v in g.output}

    # Every name in the graph, in a deterministic order: node by node (name, inputs, outputs), then
    # whatever else is left (initializers no node uses, value_info) sorted.
    ordered = []
    for n in g.node:
        ordered.append(n.name)
        ordered.extend(n.input)
        ordered.extend(n.output)
    rest = sorted({i.name for i in g.initializer} | {v.name for v in g.value_info})
    ordered.extend(rest)

    stems = {}
    for name in ordered:
        if not name or name in keep:
            continue
        m = _GENERATED.match(name)
        if m and m.group("stem") not in stems:
            stems[m.group("stem")] = m.group("base")
    taken = {name for name in ordered if name and not _GENERATED.match(name)} | keep
    new_stem = {}
    counter = 0
    for stem, base in stems.items():
        while True:
            counter += 1
            cand = f"{base}__{counter}"
            if cand not in taken:
                break
        new_stem[stem] = cand

    def rn(name):
        if not name or name in keep:
            return name
        m = _GENERATED.match(name)
        if not m:
            return name
        return new_stem[m.group("stem")] + (m.group("port") or "")

    for n in g.node:
        n.name = rn(n.name)
        for i, x in enumerate(n.input):
            n.input[i] = rn(x)
        for i, x in enumerate(n.output):
            n.output[i] = rn(x)
    for t in g.initializer:
        t.name = rn(t.name)
    for v in g.value_info:
        v.name = rn(v.name)

    first_use = {}
    for idx, n in enumerate(g.node):
        for x in n.input:
            first_use.setdefault(x, idx)
    inits = sorted(g.initializer, key=lambda t: (first_use.get(t.name, len(g.node)), t.name))
    vinfo = sorted(g.value_info, key=lambda v: v.name)
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.value_info[:]
    g.value_info.extend(vinfo)

    names = [n.name for n in g.node if n.name]
    if len(names) != len(set(names)):
        raise EditError("stabilise_names produced duplicate node names")
    g.doc_string = doc_string  # tf2onnx writes "converted from <path as given on its command line>"
    return model


def dynamic_batch(model: onnx.ModelProto, fixed: int, expected_reshapes: int, dim_name: str = "N") -> onnx.ModelProto:
    """The tflite graph was exported with a fixed batch size `fixed`, and that size is baked into the
    shape constants of some Reshape nodes. Make the batch dimension symbolic: graph input and output
    dim 0 become `dim_name`, and Reshape shape constants whose first entry is `fixed` get -1 there.
    Exactly `expected_reshapes` Reshape nodes must be affected, otherwise the graph is not the one we know."""
    g = model.graph
    for v in list(g.input) + list(g.output):
        d0 = v.type.tensor_type.shape.dim[0]
        if d0.dim_value != fixed:
            raise EditError(f"{v.name}: batch dim is {d0.dim_value or d0.dim_param!r}, expected {fixed}")
        d0.Clear()
        d0.dim_param = dim_name
    del g.value_info[:]  # inferred shapes still say `fixed`
    inits = {t.name: t for t in g.initializer}
    nodes, targets = [], []
    for n in g.node:
        if n.op_type == "Reshape" and len(n.input) > 1 and n.input[1] in inits:
            a = numpy_helper.to_array(inits[n.input[1]])
            if a.ndim == 1 and a.size > 1 and a[0] == fixed:
                nodes.append(n.name)
                if n.input[1] not in targets:
                    targets.append(n.input[1])
    if len(nodes) != expected_reshapes:
        raise EditError(f"expected {expected_reshapes} Reshape nodes whose shape constant starts with batch {fixed}, "
                        f"found {len(nodes)}: {nodes}")
    for name in targets:  # a constant may be shared by several Reshape nodes
        t = inits[name]
        a = numpy_helper.to_array(t).astype(np.int64).copy()
        a[0] = -1
        t.CopyFrom(numpy_helper.from_array(a, name))
    onnx.checker.check_model(model)
    return model


def io_summary(model: onnx.ModelProto):
    """[(kind, name, shape, dtype)] for the graph inputs and outputs."""
    out = []
    for kind, vals in (("input", model.graph.input), ("output", model.graph.output)):
        for v in vals:
            tt = v.type.tensor_type
            shape = [d.dim_param if d.dim_param else d.dim_value for d in tt.shape.dim]
            out.append((kind, v.name, shape, onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type).name))
    return out

"""PyTorch doing the same jobs as shrinkray on one fixture, for `npm run bench` (dev only).

    /usr/bin/python3 test/bench/torch_baseline.py fixtures/lenet5.onnx \
        --calib fixtures/data/mnist-calib.npz --test fixtures/data/mnist-test.npz

The fixture's architecture is rebuilt from its ONNX graph as torch modules with the ONNX
weights loaded (Conv -> Conv2d, Gemm / MatMul(+Add) -> Linear, BatchNormalization ->
BatchNorm2d, Clip(0, 6) -> ReLU6 ...), then:
- post-training static int8 (FX graph mode: BatchNorm folded, observers calibrated on the
  first --calib-samples of the calibration split) on each engine asked for. Debian's torch has
  no FBGEMM: the x86 engine here is onednn, the mobile one qnnpack;
- magnitude pruning: l1_unstructured, the same fraction of every Conv/Linear weight.
Accuracy is top-1 on the held-out split; latency at batch 1 and N (one thread), contenders
interleaved round by round, on the first samples of the held-out split. Prints one JSON object.
"""
import argparse
import json
import operator
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.utils.prune as prune
from onnx import numpy_helper
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def key(name):
    return name.replace(".", "_").replace("/", "_")


class OnnxNet(nn.Module):
    """The ONNX graph as a straight-line forward over torch modules (FX-traceable)."""

    def __init__(self, model):
        super().__init__()
        g = model.graph
        inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        readers = {}
        for n in g.node:
            for i in n.input:
                readers.setdefault(i, []).append(n)
        self.mods = nn.ModuleDict()
        self.steps = []  # (function name or module key, input names, output name, extra)
        self.input = g.input[0].name
        self.output = g.output[0].name
        fused_adds = set()
        tensor = lambda a: torch.from_numpy(np.array(a, dtype=np.float32))
        for n in g.node:
            a = attrs(n)
            k = key(n.name or n.output[0])
            op = n.op_type
            if n.name in fused_adds:
                continue
            if op == "Conv":
                w = inits[n.input[1]]
                pads = list(a.get("pads", [0, 0, 0, 0]))
                if pads[:2] != pads[2:]:
                    raise ValueError(f"{n.name}: asymmetric pads {pads}")
                m = nn.Conv2d(w.shape[1] * a.get("group", 1), w.shape[0], tuple(w.shape[2:]), stride=tuple(a.get("strides", [1, 1])),
                              padding=tuple(pads[:2]), dilation=tuple(a.get("dilations", [1, 1])), groups=a.get("group", 1), bias=len(n.input) > 2)
                m.weight.data = tensor(w)
                if len(n.input) > 2:
                    m.bias.data = tensor(inits[n.input[2]])
                self.add(k, m, n.input[0], n.output[0])
            elif op == "BatchNormalization":
                scale, bias, mean, var = (inits[i] for i in n.input[1:5])
                m = nn.BatchNorm2d(scale.shape[0], eps=a.get("epsilon", 1e-5))
                m.weight.data, m.bias.data, m.running_mean.data, m.running_var.data = map(tensor, (scale, bias, mean, var))
                self.add(k, m, n.input[0], n.output[0])
            elif op == "Relu":
                self.add(k, nn.ReLU(), n.input[0], n.output[0])
            elif op == "Clip":
                lo, hi = (float(inits[i]) for i in n.input[1:3])
                self.add(k, nn.ReLU6() if (lo, hi) == (0.0, 6.0) else nn.Hardtanh(lo, hi), n.input[0], n.output[0])
            elif op == "MaxPool":
                pads = list(a.get("pads", [0, 0, 0, 0]))
                self.add(k, nn.MaxPool2d(tuple(a["kernel_shape"]), tuple(a.get("strides", a["kernel_shape"])), tuple(pads[:2])), n.input[0], n.output[0])
            elif op == "GlobalAveragePool":
                self.add(k, nn.AdaptiveAvgPool2d(1), n.input[0], n.output[0])
            elif op == "Gemm":
                if a.get("transA", 0) or not a.get("transB", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                    raise ValueError(f"{n.name}: Gemm other than x @ W^T + b")
                w = inits[n.input[1]]
                m = nn.Linear(w.shape[1], w.shape[0], bias=len(n.input) > 2)
                m.weight.data = tensor(w)
                if len(n.input) > 2:
                    m.bias.data = tensor(inits[n.input[2]])
                self.add(k, m, n.input[0], n.output[0])
            elif op == "MatMul" and n.input[1] in inits:
                w = inits[n.input[1]]
                after = readers.get(n.output[0], [])
                bias = after[0] if len(after) == 1 and after[0].op_type == "Add" and any(i in inits for i in after[0].input) else None
                m = nn.Linear(w.shape[0], w.shape[1], bias=bias is not None)
                m.weight.data = tensor(np.ascontiguousarray(w.T))
                out = n.output[0]
                if bias is not None:
                    m.bias.data = tensor(inits[[i for i in bias.input if i in inits][0]])
                    fused_adds.add(bias.name)
                    out = bias.output[0]
                self.add(k, m, n.input[0], out)
            elif op == "LayerNormalization":
                scale = inits[n.input[1]]
                m = nn.LayerNorm(scale.shape, eps=a.get("epsilon", 1e-5))
                m.weight.data = tensor(scale)
                m.bias.data = tensor(inits[n.input[2]]) if len(n.input) > 2 else torch.zeros(scale.shape)
                self.add(k, m, n.input[0], n.output[0])
            else:
                self.functional(n, a, inits, k)

    def add(self, k, module, x, out):
        self.mods[k] = module
        self.steps.append(("module", k, [x], out, None))

    def functional(self, n, a, inits, k):
        """Ops without weights of their own; constant operands become buffers."""
        ins = []
        for i in n.input:
            if i in inits:
                name = f"c_{key(i)}"
                if not hasattr(self, name):
                    self.register_buffer(name, torch.from_numpy(np.array(inits[i])))
                ins.append(("buffer", name))
            else:
                ins.append(("value", i))
        extra = {"op": n.op_type, **a}
        if n.op_type == "Reshape":
            extra["shape"] = [int(d) for d in inits[n.input[1]]]
            ins = ins[:1]
        elif n.op_type == "ReduceMean" and len(n.input) > 1:
            extra["axes"] = [int(d) for d in inits[n.input[1]]]
            ins = ins[:1]
        elif n.op_type not in FUNCTIONS:
            raise ValueError(f"{n.name}: {n.op_type} is not mapped to torch")
        self.steps.append(("function", n.op_type, ins, n.output[0], extra))

    def forward(self, x):
        env = {self.input: x}
        for kind, what, ins, out, extra in self.steps:
            if kind == "module":
                env[out] = self.mods[what](env[ins[0]])
            else:
                args = [getattr(self, name) if src == "buffer" else env[name] for src, name in ins]
                env[out] = FUNCTIONS[what](args, extra)
        return env[self.output]


FUNCTIONS = {
    "Add": lambda v, e: operator.add(v[0], v[1]),
    "Mul": lambda v, e: operator.mul(v[0], v[1]),
    "Div": lambda v, e: operator.truediv(v[0], v[1]),
    "Sub": lambda v, e: operator.sub(v[0], v[1]),
    "MatMul": lambda v, e: torch.matmul(v[0], v[1]),
    "Flatten": lambda v, e: torch.flatten(v[0], e.get("axis", 1)),
    "Reshape": lambda v, e: v[0].reshape(e["shape"]),
    "Transpose": lambda v, e: v[0].permute(e["perm"]),
    "Softmax": lambda v, e: torch.softmax(v[0], e.get("axis", -1)),
    "Erf": lambda v, e: torch.erf(v[0]),
    "ReduceMean": lambda v, e: v[0].mean(e.get("axes"), keepdim=bool(e.get("keepdims", 1))),
}


def load_npz(path, limit=None):
    d = np.load(path)
    x, y = d["x"].astype(np.float32), d["y"]
    return (x[:limit], y[:limit]) if limit else (x, y)


def accuracy(model, x, y, engine=None):
    correct = 0
    with torch.inference_mode():
        for s in range(0, len(x), 500):
            if engine:
                torch.backends.quantized.engine = engine
            correct += int((model(torch.from_numpy(x[s:s + 500])).argmax(1).numpy() == y[s:s + 500]).sum())
    return correct / len(x)


def quantize(net, engine, calib):
    torch.backends.quantized.engine = engine
    example = (torch.from_numpy(calib[:1]),)
    prepared = prepare_fx(net, get_default_qconfig_mapping(engine), example)
    with torch.inference_mode():
        for s in range(0, len(calib), 64):
            prepared(torch.from_numpy(calib[s:s + 64]))
    return convert_fx(prepared)


def magnitude_pruned(net, sparsity):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            prune.l1_unstructured(m, "weight", amount=sparsity)
            prune.remove(m, "weight")
    return net


FASTEST_ROUNDS = 5


def interleaved(contenders, x, min_runs, min_seconds, max_seconds=10.0):
    """Same method as src/runtime/latency.ts compareModels: every contender called once per
    round, the order alternating (A B C, then C B A), until each has had min_runs calls and
    min_seconds in total (or one has max_seconds); against the first: p50 ratio, and the paired
    runs cut into 5 rounds, each round's fastest first ÷ fastest contender (median, range)."""
    def call(model, engine):
        if engine:
            torch.backends.quantized.engine = engine
        model(x)

    def pct(v, q):
        return float(np.percentile(v, q * 100))

    samples = [[] for _ in contenders]
    totals = [0.0] * len(contenders)
    order = list(range(len(contenders)))
    with torch.inference_mode():
        for _ in range(3):
            for _, model, engine in contenders:
                call(model, engine)
        r = 0
        while r < 3 or not ((r >= min_runs and min(totals) >= min_seconds * 1e3) or max(totals) >= max_seconds * 1e3):
            for i in order if r % 2 == 0 else order[::-1]:
                _, model, engine = contenders[i]
                t = time.perf_counter()
                call(model, engine)
                ms = (time.perf_counter() - t) * 1e3
                samples[i].append(ms)
                totals[i] += ms
            r += 1

    def fastest(a, b):
        n = min(FASTEST_ROUNDS, len(a))
        ratios = [min(a[k * len(a) // n:(k + 1) * len(a) // n]) / min(b[k * len(b) // n:(k + 1) * len(b) // n]) for k in range(n)]
        return {"ratio": float(np.median(ratios)), "lo": min(ratios), "hi": max(ratios)}

    base = samples[0]
    return [{"label": label, "ms": pct(s, 0.5), "p10": pct(s, 0.1), "p90": pct(s, 0.9), "runs": len(s),
             "speedup": pct(base, 0.5) / pct(s, 0.5), "fastest": fastest(base, s)}
            for (label, _, _), s in zip(contenders, samples)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--calib", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--calib-samples", type=int, default=512)
    p.add_argument("--sparsity", type=float, default=0.5)
    p.add_argument("--engines", default="onednn,qnnpack")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--min-round-ms", type=float, default=40)
    o = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    onnx_model = onnx.load(o.model)
    calib, _ = load_npz(o.calib, o.calib_samples)
    tx, ty = load_npz(o.test)
    fp32 = OnnxNet(onnx_model).eval()
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "engines": {}, "accuracy": {"fp32": accuracy(fp32, tx, ty)}}
    contenders = [("fp32", fp32, None)]
    for engine in o.engines.split(","):
        try:
            q = quantize(OnnxNet(onnx_model).eval(), engine, calib)
            result["accuracy"][f"int8-{engine}"] = accuracy(q, tx, ty, engine)
            contenders.append((f"int8-{engine}", q, engine))
            result["engines"][engine] = "ok"
        except Exception as err:  # a failed engine is a result to report, not a crash
            result["engines"][engine] = f"failed: {str(err).splitlines()[0]}"
    pruned = magnitude_pruned(OnnxNet(onnx_model).eval(), o.sparsity)
    result["accuracy"][f"magnitude-{o.sparsity}"] = accuracy(pruned, tx, ty)
    contenders.append((f"magnitude-{o.sparsity}", pruned, None))
    min_seconds = o.rounds * o.min_round_ms / 1e3
    result["latency"] = {str(b): interleaved(contenders, torch.from_numpy(tx[:b]), 30, min_seconds) for b in (1, o.batch)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()

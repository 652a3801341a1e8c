"""Writes onnx-op-names.json beside this script: every op name of the default ONNX domain and
of onnxruntime's com.microsoft domain, which the op-table completeness test checks string
literals against. Run it again when onnx or onnxruntime-node is upgraded:

    pip install --target /tmp/opnames onnx onnxruntime   # (no project dependency)
    PYTHONPATH=/tmp/opnames python3 test/ops/onnx-op-names.py

The onnxruntime version should be the one package.json's onnxruntime-node pins.
"""
import json
import pathlib

import onnx
import onnx.defs
import onnxruntime
from onnxruntime.capi import onnxruntime_pybind11_state as ort_schemas


def names(schemas, domain):
    return sorted({s.name for s in schemas if s.domain == domain})


onnx_schemas = onnx.defs.get_all_schemas_with_history()
ort = ort_schemas.get_all_operator_schema()
out = {
    "onnx": onnx.__version__,
    "onnxruntime": onnxruntime.__version__,
    # onnxruntime registers a few legacy default-domain ops onnx has dropped, and may lag behind onnx.
    "ai.onnx": sorted(set(names(onnx_schemas, "")) | set(names(ort, ""))),
    "com.microsoft": names(ort, "com.microsoft"),
}
path = pathlib.Path(__file__).with_name("onnx-op-names.json")
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"{path}: {len(out['ai.onnx'])} ai.onnx and {len(out['com.microsoft'])} com.microsoft ops")

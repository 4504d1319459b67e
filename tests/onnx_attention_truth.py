"""Writes the ONNX attention exports the tests read: small modules calling
``F.scaled_dot_product_attention``, exported by torch's dynamo exporter at opset 18 (the attention
as MatMul / Softmax / MatMul) and at opset 23 (one ``Attention`` node), with torch's own count of
their floating-point operations (``torch.utils.flop_counter.FlopCounterMode``: 2 per
multiply-accumulate of ``addmm``, ``bmm`` and ``_scaled_dot_product_*_attention``), measured
twice: with torch's default kernel choice and with the math kernel
(``torch.nn.attention.sdpa_kernel(SDPBackend.MATH)``). On a CPU the default is
``_scaled_dot_product_flash_attention_for_cpu``, which FlopCounterMode has no formula for (torch
2.13): it counts the projections only; the math kernel is written with ``bmm`` and counts
``Q K^T`` and ``A V`` too.

Run as a script (needs torch, onnxscript; a few seconds a file)::

    python tests/onnx_attention_truth.py

It writes under ``tests/data/onnx_attention/``: ``NAME.opsetN.onnx`` with their weights inline
(a few kilobytes each) and ``records.json`` (per module: torch's parameter count, its FLOPs by
operator, the input shape, the ONNX operators of each file). ``tests/test_onnx_attention.py``
reads them; CI needs no torch export.
"""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "onnx_attention")
RECORDS = os.path.join(DATA, "records.json")


def modules():
    import torch
    from torch import nn
    from torch.nn import functional as F

    class SelfAttention(nn.Module):
        """A ViT-style block's attention: a fused q/k/v projection, ``heads`` heads, an output
        projection; ``kv_heads < heads`` is grouped-query attention (``enable_gqa``)."""

        def __init__(self, dim=32, heads=4, kv_heads=4, causal=False):
            super().__init__()
            self.heads, self.kv_heads, self.d, self.causal = heads, kv_heads, dim // heads, causal
            self.q = nn.Linear(dim, dim)
            self.kv = nn.Linear(dim, 2 * kv_heads * self.d)
            self.out = nn.Linear(dim, dim)

        def forward(self, x):
            b, t, _ = x.shape
            q = self.q(x).view(b, t, self.heads, self.d).transpose(1, 2)
            k, v = self.kv(x).view(b, t, 2, self.kv_heads, self.d).permute(2, 0, 3, 1, 4).unbind(0)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal, enable_gqa=self.kv_heads != self.heads)
            return self.out(y.transpose(1, 2).reshape(b, t, -1))

    torch.manual_seed(0)
    return {
        "mha": (SelfAttention(), (1, 16, 32)),
        "gqa_causal": (SelfAttention(dim=64, heads=8, kv_heads=2, causal=True), (1, 24, 64)),
    }


def main(names):
    import onnx
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    os.makedirs(DATA, exist_ok=True)
    records = json.load(open(RECORDS)) if os.path.exists(RECORDS) else {}
    for name, (module, shape) in modules().items():
        if names and name not in names:
            continue
        module.eval()
        x = torch.randn(*shape)
        flops = {}
        for backend, kernels in (("default", None), ("math", [SDPBackend.MATH])):
            with FlopCounterMode(display=False) as counter:
                if kernels is None:
                    module(x)
                else:
                    with sdpa_kernel(kernels):
                        module(x)
            flops[backend] = {str(k).split(".")[-1]: int(v) for k, v in counter.get_flop_counts()["Global"].items()}
        files = {}
        for opset in (18, 23):
            path = os.path.join(DATA, f"{name}.opset{opset}.onnx")
            program = torch.onnx.export(module, (x,), dynamo=True, opset_version=opset, external_data=False)
            program.save(path)
            model = onnx.load(path)
            for p in list(model.metadata_props):
                model.metadata_props.remove(p)
            for node in model.graph.node:
                for p in list(node.metadata_props):
                    node.metadata_props.remove(p)
            onnx.save(model, path)
            files[str(opset)] = sorted({n.op_type for n in model.graph.node})
        records[name] = {
            "input": list(shape),
            "torch_params": sum(p.numel() for p in module.parameters()),
            "torch_flops": flops,
            "operators": files,
        }
        print(name, records[name], flush=True)
    with open(RECORDS, "w") as f:
        json.dump(records, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])

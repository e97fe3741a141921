#!/usr/bin/env python3
"""Writes the array fixtures of tests/unit/test_io_array_files.cpp with NumPy (and a
safetensors file by the format's specification, with json and struct). Values are
0.5 * arange(n) - 1, so the tests can recompute them."""
import json
import struct

import numpy as np


def values(shape, dtype=np.float32):
    return (0.5 * np.arange(int(np.prod(shape))) - 1).reshape(shape).astype(dtype)


np.save("f32_2x3.npy", values((2, 3)))
np.save("f64_5.npy", values((5,), np.float64))
np.save("f16_3x2.npy", values((3, 2), np.float16))
np.save("i32_4.npy", np.arange(4, dtype=np.int32))
np.save("fortran_3x2.npy", np.asfortranarray(values((3, 2))))
with open("v2_2x2.npy", "wb") as f:
    np.lib.format.write_array(f, values((2, 2)), version=(2, 0))
np.savez("weights.npz", **{"query/dense_0/kernel": values((3, 2)), "query/dense_0/bias": values((2,))})
np.savez_compressed("weights_compressed.npz", a=values((3, 2)))

# safetensors: u64 header length, JSON header, data (F32 3x2, BF16 2x2, F16 1-D 3).
tensors = {
    "a": ("F32", [3, 2], values((3, 2)).tobytes()),
    "b": ("BF16", [2, 2], (values((2, 2)).view(np.uint32) >> 16).astype("<u2").tobytes()),
    "c": ("F16", [3], values((3,), np.float16).tobytes()),
}
header, data = {"__metadata__": {"made_by": "make-arrays.py"}}, b""
for name, (dtype, shape, raw) in tensors.items():
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open("sample.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)

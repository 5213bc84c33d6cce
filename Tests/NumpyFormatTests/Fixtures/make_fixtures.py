#!/usr/bin/env python3
"""Regenerates the .npy fixtures of NumpyFileTests (run: python3 make_fixtures.py).

Every file is a few hundred bytes at most; the values are simple affine
functions of the index so the Swift tests can recompute them exactly.
"""
import os

import numpy as np
from numpy.lib import format as npformat

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def save_version(name, array, version):
    with open(path(name), "wb") as f:
        npformat.write_array(f, array, version=version)


def main():
    # Readable: value i (C order) is i * 0.5.
    f32 = (np.arange(120, dtype=np.float32) * 0.5).reshape(2, 3, 4, 5)
    np.save(path("f32_2x3x4x5.npy"), f32)
    # Readable: float64 value i is i * 0.1 - 0.5 (computed in float64), rounded to float32 on read.
    np.save(path("f64_small.npy"), (np.arange(12, dtype=np.float64) * 0.1 - 0.5).reshape(3, 4))
    # Readable: float16, widened exactly: i * 0.25 - 1, then the largest
    # finite value, the smallest subnormal, negative zero and a value that
    # float16 rounds (0.1 -> 0.0999755859375).
    f16 = np.concatenate([np.arange(8, dtype=np.float16) * np.float16(0.25) - np.float16(1),
                          np.array([65504, 2.0**-24, -0.0, 0.1], dtype=np.float16)])
    np.save(path("f16_small.npy"), f16.reshape(3, 4))
    # Readable: bfloat16 as ml_dtypes saves it (descr '<V2', the bf16 bits),
    # needing ml_dtypes only to regenerate: 1.5, -2, -0, the smallest
    # subnormal 2^-133, the largest finite value, 0.1 rounded to bf16.
    try:
        import ml_dtypes
        bf16 = np.array([1.5, -2, -0.0, 2.0**-133, 3.3895313892515355e38, 0.1], dtype=ml_dtypes.bfloat16)
        np.save(path("bf16_small.npy"), bf16.reshape(2, 3))
    except ImportError:
        print("ml_dtypes not installed: bf16_small.npy kept as it is")
    # Readable: the same float32 data with version 2.0 and 3.0 headers.
    small = (np.arange(6, dtype=np.float32) * 0.5).reshape(2, 3)
    save_version("f32_v2.npy", small, (2, 0))
    save_version("f32_v3.npy", small, (3, 0))
    # Readable: a 0-d array (shape ()) and an empty array (shape (0, 3)).
    np.save(path("f32_scalar.npy"), np.array(2.5, dtype=np.float32))
    np.save(path("f32_empty.npy"), np.zeros((0, 3), dtype=np.float32))

    # Rejected: Fortran order.
    np.save(path("fortran.npy"), np.asfortranarray(small))
    # Rejected: an integer dtype.
    np.save(path("int32.npy"), np.arange(6, dtype=np.int32))
    # Rejected: big-endian float32.
    np.save(path("bigendian.npy"), np.arange(6, dtype=">f4"))
    # Rejected: a valid (4, 5) float32 file with its last 7 bytes cut off.
    np.save(path("truncated.npy"), np.arange(20, dtype=np.float32).reshape(4, 5))
    with open(path("truncated.npy"), "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        f.truncate(size - 7)


if __name__ == "__main__":
    main()

"""Regenerates the .npy fixtures of the CLI tests with NumPy.

q.npy [1, 4, 37, 16] float32, k.npy [1, 2, 53, 16] float64 (read back as
float32), v.npy [1, 2, 53, 16] float32: grouped-query attention with Nq != Nk.
expected_causal.npy is the float64 attention output with the bottom-right
causal mask (key j attended by query i when j <= i + Nk - Nq), scale 1/sqrt(d),
computed here independently of attnbench. v16.npy is v rounded to float16
(<f2), and expected_causal_v16.npy the same output with it.
"""
import numpy as np

rng = np.random.default_rng(7)
q = rng.standard_normal((1, 4, 37, 16)).astype(np.float32)
k = rng.standard_normal((1, 2, 53, 16))                      # float64 on purpose
v = rng.standard_normal((1, 2, 53, 16)).astype(np.float32)
np.save("q.npy", q)
np.save("k.npy", k)
np.save("v.npy", v)

v16 = v.astype(np.float16)
np.save("v16.npy", v16)


def causal_attention(values):
    """float64 attention of q, k and `values` under the bottom-right causal mask."""
    kk = np.repeat(k.astype(np.float32).astype(np.float64), 2, axis=1)
    vv = np.repeat(values.astype(np.float64), 2, axis=1)
    s = q.astype(np.float64) @ kk.transpose(0, 1, 3, 2) / np.sqrt(16)
    nq, nk = 37, 53
    mask = np.arange(nk)[None, :] <= np.arange(nq)[:, None] + (nk - nq)
    s = np.where(mask, s, -np.inf)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return p @ vv


np.save("expected_causal.npy", causal_attention(v))
np.save("expected_causal_v16.npy", causal_attention(v16))

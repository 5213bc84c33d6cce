"""Regenerates the .npy fixtures of the CLI tests with NumPy.

q.npy [1, 4, 37, 16] float32, k.npy [1, 2, 53, 16] float64 (read back as
float32), v.npy [1, 2, 53, 16] float32: grouped-query attention with Nq != Nk.
expected_causal.npy is the float64 attention output with the bottom-right
causal mask (key j attended by query i when j <= i + Nk - Nq), scale 1/sqrt(d),
computed here independently of attnbench.
"""
import numpy as np

rng = np.random.default_rng(7)
q = rng.standard_normal((1, 4, 37, 16)).astype(np.float32)
k = rng.standard_normal((1, 2, 53, 16))                      # float64 on purpose
v = rng.standard_normal((1, 2, 53, 16)).astype(np.float32)
np.save("q.npy", q)
np.save("k.npy", k)
np.save("v.npy", v)

kk = np.repeat(k.astype(np.float32).astype(np.float64), 2, axis=1)
vv = np.repeat(v.astype(np.float64), 2, axis=1)
s = q.astype(np.float64) @ kk.transpose(0, 1, 3, 2) / np.sqrt(16)
nq, nk = 37, 53
mask = np.arange(nk)[None, :] <= np.arange(nq)[:, None] + (nk - nq)
s = np.where(mask, s, -np.inf)
p = np.exp(s - s.max(axis=-1, keepdims=True))
p /= p.sum(axis=-1, keepdims=True)
np.save("expected_causal.npy", p @ vv)

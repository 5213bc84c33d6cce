"""A peer for the tests: speaks the peer protocol (docs/PEERS.md) with the
standard library alone, so the protocol is tested without PyTorch.

    python3 fake_peer.py --mode MODE probe
    python3 fake_peer.py --mode MODE run REQUEST.json

MODE:
  ok           exact attention in float64 (slow; for tiny shapes)
  wrong        the same, plus 0.01 on every output: must be caught as wrong
  crash        dies by SIGABRT after printing to stderr
  exit         exits 3 with a message on stderr
  unavailable  its probe says the library is missing
  unsupported  its run says the case is unsupported
  garbage      prints something that is not the protocol's JSON
  forward-only ok, but ignores the request's `pass` as a peer from before
               the pass axis would, and names no pass in its reply

The request's `dtype` (`f32`, `f16` or `bf16`; absent means `f32`) is taken
as the real peer takes it: the inputs stay float32 files, the output is
rounded to the dtype (to nearest, ties to even; in mode wrong before the
0.01 is added), as a peer computing in that dtype stores it, and written as
float32; a dtype other than f32 is named in the kernel label ("naive ok
(bf16)"). Any other dtype value exits 1 with a message on stderr naming the
field and the allowed values.

The request's `pass` (`forward`, `backward` or `both`; absent means
`forward`) is honoured in every mode but forward-only: a backward request
gets dQ, dK and dV in float64 (in mode wrong with 0.01 added to dQ),
written as float32 to the request's `gradients` files, and the reply
names the pass.
"""

import json
import math
import os
import resource
import struct
import sys
import time


def read_npy(path):
    """A little-endian float32 C-order .npy file, as (shape, flat list)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"\x93NUMPY", path
    major = data[6]
    if major == 1:
        (length,) = struct.unpack("<H", data[8:10])
        start = 10
    else:
        (length,) = struct.unpack("<I", data[8:12])
        start = 12
    header = eval(data[start:start + length].decode("latin1"))  # a Python dict literal
    assert header["descr"] == "<f4" and not header["fortran_order"], header
    shape = tuple(header["shape"])
    count = 1
    for extent in shape:
        count *= extent
    body = data[start + length:]
    return shape, list(struct.unpack("<%df" % count, body[:4 * count]))


def write_npy(path, shape, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        "".join("%d, " % e for e in shape) if len(shape) != 1 else "%d," % shape[0])
    total = 10 + len(header) + 1
    header += " " * ((64 - total % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(struct.pack("<%df" % len(values), *values))


DTYPES = ("f32", "f16", "bf16")


def request_dtype(request):
    """The request's dtype, f32 when absent; exits 1 naming the field for another value."""
    dtype = request.get("dtype", "f32")
    if dtype not in DTYPES:
        print("fake peer: request field 'dtype' is %s; allowed values: %s"
              % (json.dumps(dtype), ", ".join(DTYPES)), file=sys.stderr)
        sys.exit(1)
    return dtype


def rounded(value, dtype):
    """`value` rounded to the dtype (to nearest, ties to even), as a float."""
    if dtype == "f16":
        return struct.unpack("<e", struct.pack("<e", value))[0]
    if dtype == "bf16":
        (bits,) = struct.unpack("<I", struct.pack("<f", value))
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        return struct.unpack("<f", struct.pack("<I", bits))[0]
    return value


def status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def attended(mask, layout, i, j):
    p = i + mask["offset"]
    kind = mask["kind"]
    if kind == "full":
        return True
    if kind == "causal":
        return j <= p
    if kind == "window":
        if p - mask["left"] <= j <= p + mask["right"]:
            return True
        g = mask["global_tokens"]
        cap = j <= p if mask["right"] == 0 else True
        return (j < g or 0 <= p < g) and cap
    if kind == "blocks":
        if mask["causal"] and j > p:
            return False
        shape, cells = layout
        bs = mask["block_size"]
        return cells[(i // bs) * shape[1] + j // bs] != 0
    raise ValueError(kind)


def problem(request):
    """The request's shape, its Q, K, V (flat lists) and its attended rows: a
    list of (offset of the query row, offset of its key/value head, attended
    keys, softmax probabilities), in float64; rows with no key are left out."""
    s = request["shape"]
    b_, h_, kvh, nq, nk, d = (s["batch"], s["heads"], s["kv_heads"], s["query_length"],
                              s["key_length"], s["head_dim"])
    _, q = read_npy(request["query"])
    _, k = read_npy(request["key"])
    _, v = read_npy(request["value"])
    mask = request["mask"]
    layout = read_npy(mask["layout"]) if mask["kind"] == "blocks" else None
    group = h_ // kvh
    rows = []
    for b in range(b_):
        for h in range(h_):
            ko = ((b * kvh + h // group) * nk) * d
            for i in range(nq):
                keys = [j for j in range(nk) if attended(mask, layout, i, j)]
                if not keys:
                    continue
                row = ((b * h_ + h) * nq + i) * d
                scores = [s["scale"] * sum(q[row + c] * k[ko + j * d + c] for c in range(d)) for j in keys]
                top = max(scores)
                weights = [math.exp(x - top) for x in scores]
                total = sum(weights)
                rows.append((row, ko, keys, [w / total for w in weights]))
    return s, q, k, v, rows


def attention(request):
    s, q, k, v, rows = problem(request)
    d = s["head_dim"]
    out = [0.0] * len(q)
    for row, ko, keys, p in rows:
        for c in range(d):
            out[row + c] = sum(pj * v[ko + j * d + c] for pj, j in zip(p, keys))
    return (s["batch"], s["heads"], s["query_length"], d), out


def attention_backward(request):
    """dQ, dK, dV of the request's problem against its dO file, in float64:
    P from the row's softmax, dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP − D) with
    D = rowsum(dP∘P), dQ = scale·dS·K, dK = scale·dSᵀ·Q."""
    s, q, k, v, rows = problem(request)
    d, scale = s["head_dim"], s["scale"]
    _, do = read_npy(request["output_gradient"])
    dq = [0.0] * len(q)
    dk = [0.0] * len(k)
    dv = [0.0] * len(v)
    for row, ko, keys, p in rows:
        dp = [sum(do[row + c] * v[ko + j * d + c] for c in range(d)) for j in keys]
        mean = sum(a * b for a, b in zip(p, dp))
        for pj, dpj, j in zip(p, dp, keys):
            ds = pj * (dpj - mean)
            for c in range(d):
                dv[ko + j * d + c] += pj * do[row + c]
                dq[row + c] += scale * ds * k[ko + j * d + c]
                dk[ko + j * d + c] += scale * ds * q[row + c]
    q_shape = (s["batch"], s["heads"], s["query_length"], d)
    k_shape = (s["batch"], s["kv_heads"], s["key_length"], d)
    return q_shape, k_shape, dq, dk, dv


def run(mode, request_path):
    with open(request_path) as f:
        request = json.load(f)
    dtype = request_dtype(request)
    if mode == "unsupported":
        print(json.dumps({"protocol": 1, "status": "unsupported", "reason": "the fake peer declines"}))
        return
    if mode == "crash":
        print("fake peer: about to abort", file=sys.stderr)
        sys.stderr.flush()
        os.abort()
    if mode == "exit":
        print("fake peer: giving up on purpose", file=sys.stderr)
        sys.exit(3)
    if mode == "garbage":
        print("this is not json")
        return
    timed_pass = "forward" if mode == "forward-only" else request.get("pass", "forward")
    before = status_bytes("VmRSS")
    with_inputs = status_bytes("VmRSS")
    shape, output = attention(request)
    if timed_pass != "forward":
        q_shape, k_shape, dq, dk, dv = attention_backward(request)
        if mode == "wrong":
            dq = [x + 0.01 for x in dq]
        paths = request["gradients"]
        write_npy(paths["query"], q_shape, dq)
        write_npy(paths["key"], k_shape, dk)
        write_npy(paths["value"], k_shape, dv)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    reps = request["repetitions"]
    for _ in range(reps["warmup"]):
        attention(request)
    times = []
    start = time.perf_counter()
    while len(times) < reps["max_reps"] and (
            len(times) < reps["min_reps"] or time.perf_counter() - start < reps["min_time"]):
        t0 = time.perf_counter()
        attention(request)
        times.append((time.perf_counter() - t0) * 1e3)
    output = [rounded(x, dtype) for x in output]
    if mode == "wrong":
        output = [x + 0.01 for x in output]
    write_npy(request["output"], shape, output)
    print("fake peer: some chatter on stdout before the reply")
    reply = {
        "protocol": 1, "status": "ok", "times_ms": times,
        "rss_before_inputs_bytes": before, "rss_with_inputs_bytes": with_inputs,
        "peak_rss_bytes": status_bytes("VmHWM"), "peak_was_reset": reset,
        "process_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "library": "fake 1.0", "kernel": "naive " + mode + ("" if dtype == "f32" else " (%s)" % dtype),
    }
    if mode != "forward-only":
        reply["pass"] = timed_pass
    # Replies that look fine but must not become rows.
    lies = {
        "negative-times": {"times_ms": [-t for t in times]},
        "zero-times": {"times_ms": [0.0 for _ in times]},
        "nan-times": {"times_ms": [float("nan")] + times[1:]},
        "few-times": {"times_ms": times[:1]},
        "many-times": {"times_ms": times * 20},
        "protocol-2": {"protocol": 2},
        "negative-bytes": {"peak_rss_bytes": -4096},
        "huge-bytes": {"rss_with_inputs_bytes": 1 << 62},
    }
    reply.update(lies.get(mode, {}))
    print(json.dumps(reply))


def main(argv):
    mode = argv[argv.index("--mode") + 1]
    command = argv[argv.index("--mode") + 2]
    if command == "probe":
        if mode == "unavailable":
            print(json.dumps({"protocol": 1, "available": False, "reason": "No module named 'fake'"}))
        else:
            print(json.dumps({"protocol": 1, "available": True, "library": "fake 1.0"}))
        return
    run(mode, argv[argv.index("--mode") + 3])


if __name__ == "__main__":
    main(sys.argv)

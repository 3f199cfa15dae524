"""The PyTorch peer of the metagrad peer benchmarks (bench/src/peers/protocol.ts describes the protocol).

The benchmark's objectives (bench/src/policy.ts) in PyTorch on the CPU, differentiated with
torch.autograd.grad(create_graph=True) through the inner step(s):
  inner_grad  ∇θ J^LVC(θ) on the pre batch, J^LVC = mean(exp(logp − logp.detach()) · adv)
  meta_grad   ∇θ J^LR(θ_k) on the post batch, θ_{i+1} = θ_i + α∇J^LVC(θ_i), J^LR = mean(exp(logp − logpOld) · adv)
  hvp         ∇θ(∇J^LVC(θ)·v)
Each work is computed once and compared with metagrad's float64 answer (rel_err); only a correct work is timed.

Threads: torch.set_num_threads(--threads); the driver also sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS (read
when the libraries load, so they must be set before Python starts). Run it through the drivers:
  npm run bench:peers        # or: npm run bench:scaling
or alone, with /usr/bin/python3 (Debian's python3-torch; a pyenv `python3` may lack torch):
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/peers/torch_workloads.py \
    --data d.json --ref r.json --dtype float64 --works inner_grad,meta_grad,hvp --out o.json --threads 1
"""
import argparse
import json
import math
import time

import torch

LEAVES = ["W1", "b1", "W2", "b2", "W3", "b3", "logStd"]


def parse_args():
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--data", required=True)
    a.add_argument("--ref", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--dtype", required=True, choices=["float64", "float32"])
    a.add_argument("--works", required=True)
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--variant", default=None)
    a.add_argument("--warmup", type=int, default=3)
    a.add_argument("--reps", type=int, default=30)
    a.add_argument("--min-reps", type=int, default=3)
    a.add_argument("--budget-ms", type=float, default=60_000)
    a.add_argument("--tol", type=float, default=1e-4)
    a.add_argument("--check-only", action="store_true")
    return a.parse_args()


def log_prob(p, obs, act):
    """log π_θ(a|o) per sample: Σ_d −½((a − μ)/σ)² − Σ log σ − ½·D·log 2π."""
    h1 = torch.tanh(obs @ p["W1"] + p["b1"])
    h2 = torch.tanh(h1 @ p["W2"] + p["b2"])
    z = (act - (h2 @ p["W3"] + p["b3"])) / torch.exp(p["logStd"])
    return (z * z).sum(1) * -0.5 - p["logStd"].sum() - act.shape[1] * 0.5 * math.log(2 * math.pi)


def lvc(p, b):
    lp = log_prob(p, b["obs"], b["act"])
    return (torch.exp(lp - lp.detach()) * b["adv"]).mean()


def lr(p, b):
    return (torch.exp(log_prob(p, b["obs"], b["act"]) - b["logpOld"]) * b["adv"]).mean()


def grad_tree(y, p, create_graph=False):
    return dict(zip(LEAVES, torch.autograd.grad(y, [p[k] for k in LEAVES], create_graph=create_graph)))


def make_works(d, dtype):
    leaf = lambda l: torch.tensor(l["data"], dtype=torch.float64).reshape(l["shape"]).to(dtype)
    params = {k: leaf(d["params"][k]).requires_grad_() for k in LEAVES}
    v = {k: leaf(d["v"][k]) for k in LEAVES}
    pre = {k: leaf(d["pre"][k]) for k in ("obs", "act", "adv")}
    post = {k: leaf(d["post"][k]) for k in ("obs", "act", "adv", "logpOld")}
    steps, alpha = d["steps"], d["alpha"]

    def inner_steps(p):
        for _ in range(steps):
            g = grad_tree(lvc(p, pre), p, create_graph=True)
            p = {k: p[k] + alpha * g[k] for k in LEAVES}
        return p

    def meta_grad():
        return grad_tree(lr(inner_steps(params), post), params)

    def hvp():
        g = grad_tree(lvc(params, pre), params, create_graph=True)
        return grad_tree(sum((g[k] * v[k]).sum() for k in LEAVES), params)

    return {"inner_grad": lambda: grad_tree(lvc(params, pre), params), "meta_grad": meta_grad, "hvp": hvp}


def rel_err(ans, ref):
    num = sum(((ans[k].detach().double().flatten() - torch.tensor(ref[k], dtype=torch.float64)) ** 2).sum().item() for k in LEAVES)
    den = sum((torch.tensor(ref[k], dtype=torch.float64) ** 2).sum().item() for k in LEAVES)
    return math.sqrt(num / den)


def time_calls(call, a):
    for _ in range(a.warmup):
        call()
    samples, start = [], time.perf_counter()
    while len(samples) < a.reps and (len(samples) < a.min_reps or (time.perf_counter() - start) * 1e3 < a.budget_ms):
        t = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t) * 1e3)
    return samples


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    with open(a.data) as f:
        data = json.load(f)
    with open(a.ref) as f:
        ref = json.load(f)
    works = make_works(data, torch.float64 if a.dtype == "float64" else torch.float32)
    results = []
    for work in a.works.split(","):
        out = {"work": work, "supported": False, "reason": None, "rel_err": None, "samples_ms": []}
        results.append(out)
        try:
            out["rel_err"] = rel_err(works[work](), ref[work])
        except Exception as e:  # recorded, not raised: one failing work must not lose the others
            out["reason"] = f"error: {e}"
            continue
        if not out["rel_err"] <= a.tol:
            out["reason"] = f"wrong answer: rel_err {out['rel_err']:.3g} vs metagrad float64 (tolerance {a.tol})"
            continue
        out["supported"] = True
        if not a.check_only:
            out["samples_ms"] = time_calls(works[work], a)
    blas = next((l.split("BLAS_INFO=")[1].split(",")[0] for l in torch.__config__.show().splitlines() if "BLAS_INFO=" in l), "?")
    info = {"threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(), "blas_info": blas}
    with open(a.out, "w") as f:
        json.dump({"peer": "pytorch", "variant": a.variant, "dtype": a.dtype, "threads": a.threads,
                   "version": torch.__version__, "info": info, "results": results}, f)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""PyTorch reference of bench/gpt_bench.cpp: the same GPT-2 style model (pre-LN, tied head,
GELU tanh, biases, dropout 0) and AdamW (weight decay 0.1 on rank >= 2 parameters), one JSON line.
   OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_gpt.py small 20 --threads 2
   --autocast: the forward pass under torch.autocast("cpu", dtype=torch.bfloat16), bf16 mixed precision
   --ddp N: data parallel, N processes (DistributedDataParallel, gloo), each on batch/N rows of the
   same global batch with --threads intra-op threads (1 unless given); the median step time of rank
   0, peak_rss_mb summed over the ranks (launcher_rss_mb: the idle launching process);
   --ddp-wait spin: the ranks poll for the gradient allreduce instead of sleeping in it"""
import argparse
import contextlib
import datetime
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

CONFIGS = {  # context, layers, heads, width, batch
    "toy": (8, 2, 4, 64, 64),  # the README demo's model size and batch
    "tiny": (64, 2, 4, 64, 16),
    "small": (128, 4, 4, 128, 16),
    "medium": (256, 6, 6, 384, 8),
}
VOCAB = 65


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.c_fc, self.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.heads)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, context, layers, heads, d, vocab=VOCAB):
        super().__init__()
        self.vocab = vocab
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.h = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        # GPT-2's initialisation, as tapegrad's Gpt: N(0, 0.02), the residual projections scaled by
        # 1/sqrt(2 layers), zero biases (PyTorch's defaults gave the tied head logits of ~±40)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() >= 2:
                scaled = name.endswith(("c_proj.weight", "mlp_proj.weight"))
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * layers) if scaled else 0.02)

    def forward(self, ids, targets):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, self.vocab), targets.view(-1))


def build(config, threads):
    """Model, AdamW and the token stream; seeded, so every DDP rank builds the same ones."""
    torch.manual_seed(1)
    torch.set_num_threads(threads)
    context, layers, heads, d, batch = CONFIGS[config]
    model = Gpt(context, layers, heads, d)
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=3e-4)
    tokens = torch.randint(0, VOCAB, (batch * context * 8 + 1,))
    return model, optimizer, tokens


def train(model, optimizer, tokens, args, rows):
    """3 untimed warm-up steps, then args.steps timed ones on rows `rows` of each global batch: the
    step times in ms and every step's loss (kept as tensors: no extra work inside the timing)."""
    context, batch = CONFIGS[args.config][0], CONFIGS[args.config][4]
    per_epoch = (tokens.numel() - 1) // (batch * context)
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if args.autocast
                else contextlib.nullcontext())
    times, losses = [], []
    for step in range(3 + args.steps):
        off = (step % per_epoch) * batch * context
        x = tokens[off:off + batch * context].view(batch, context)[rows]
        y = tokens[off + 1:off + 1 + batch * context].view(batch, context)[rows]
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = model(x, y)
        loss.backward()
        optimizer.step()
        if step >= 3:
            times.append((time.perf_counter() - start) * 1e3)
        losses.append(loss.detach())
    return times, torch.stack(losses)


def report(args, model, times, losses, peak_rss_mb):
    context, layers, _, d, batch = CONFIGS[args.config]
    ms = statistics.median(times)
    n_params = sum(p.numel() for p in model.parameters())
    tok = batch * context
    flops = 6 * n_params * tok + 12 * layers * context * d * tok
    out = {"engine": "pytorch", "config": args.config, "ms_per_step": round(ms, 2),
           "tokens_per_s": round(tok / ms * 1e3), "gflops": round(flops / ms * 1e-6, 2),
           "params": n_params, "threads": args.threads,
           "precision": "bf16 autocast" if args.autocast else "fp32",
           "peak_rss_mb": round(peak_rss_mb, 1), "torch": torch.__version__}
    if args.ddp:
        out["ddp"], out["ddp_wait"] = args.ddp, args.ddp_wait
    if args.check:
        out["losses"] = [round(v, 6) for v in losses.tolist()]
    return out


def own_peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spin_allreduce(_state, bucket):
    """DDP comm hook: DDP's own averaging allreduce, waited for by polling instead of sleeping; a
    rank that sleeps wakes up late on this VM (toy: 9.0-9.8 ms a step polling, 11.8-12.2 asleep)."""
    grads = bucket.buffer().div_(dist.get_world_size())
    work = dist.all_reduce(grads, async_op=True)
    while not work.is_completed():
        pass
    work.wait()  # raises what the collective failed with (a lost rank, the timeout)
    done = torch.futures.Future()
    done.set_result(grads)
    return done


def ddp_rank(rank, args, store_path, results):
    """One data-parallel rank: rows [rank*B/N, (rank+1)*B/N) of every global batch; DDP averages
    the gradients over the ranks (equal shards: the mean of the shard losses is the batch loss)."""
    dist.init_process_group("gloo", init_method=f"file://{store_path}", rank=rank,
                            world_size=args.ddp, timeout=datetime.timedelta(seconds=300))
    model, optimizer, tokens = build(args.config, args.threads)
    shard = CONFIGS[args.config][4] // args.ddp
    ddp = DistributedDataParallel(model)
    if args.ddp_wait == "spin":
        ddp.register_comm_hook(None, spin_allreduce)
    times, losses = train(ddp, optimizer, tokens, args, slice(rank * shard, (rank + 1) * shard))
    # after the timed steps: the full-batch losses and the ranks' summed peak RSS
    dist.all_reduce(losses)
    rss = torch.tensor([own_peak_rss_mb()], dtype=torch.float64)
    dist.all_reduce(rss)
    dist.destroy_process_group()
    if rank == 0:
        results.put(report(args, model, times, losses / args.ddp, rss.item()))


def run_ddp(args):
    batch = CONFIGS[args.config][4]
    if args.ddp < 1 or batch % args.ddp:
        sys.exit(f"torch_gpt.py: --ddp {args.ddp} must divide the {args.config} batch of {batch}")
    # the ranks inherit this environment: single-threaded BLAS as run.sh sets it, gloo on loopback
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    context = mp.get_context("spawn")
    results = context.SimpleQueue()
    with tempfile.TemporaryDirectory() as tmp:
        # join() raises as soon as one rank fails and terminates the others
        mp.spawn(ddp_rank, args=(args, os.path.join(tmp, "store"), results), nprocs=args.ddp)
    out = results.get()
    out["launcher_rss_mb"] = round(own_peak_rss_mb(), 1)  # the idle parent, not in peak_rss_mb
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("config", choices=CONFIGS)
    parser.add_argument("steps", type=int, nargs="?", default=20)
    parser.add_argument("--threads", type=int, help="intra-op threads (per rank); 2, with --ddp 1")
    parser.add_argument("--autocast", action="store_true")
    parser.add_argument("--ddp", type=int, default=0)
    parser.add_argument("--ddp-wait", choices=("passive", "spin"), default="passive",
                        help="how a rank waits for the gradient allreduce: sleeping or polling")
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads is None:
        args.threads = 1 if args.ddp else 2
    if args.ddp:
        out = run_ddp(args)
    else:
        model, optimizer, tokens = build(args.config, args.threads)
        times, losses = train(model, optimizer, tokens, args, slice(None))
        out = report(args, model, times, losses, own_peak_rss_mb())
    print(json.dumps(out))


if __name__ == "__main__":
    main()

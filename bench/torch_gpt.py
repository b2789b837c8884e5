#!/usr/bin/python3
"""PyTorch reference of bench/gpt_bench.cpp: the same GPT-2 style model (pre-LN, tied head,
GELU tanh, biases, dropout 0) and AdamW (weight decay 0.1 on rank >= 2 parameters), one JSON line.
   OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_gpt.py small 20 --threads 2
   --autocast: the forward pass under torch.autocast("cpu", dtype=torch.bfloat16), bf16 mixed precision"""
import argparse
import contextlib
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

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

    def forward(self, ids, targets):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, self.vocab), targets.view(-1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("config", choices=CONFIGS)
    parser.add_argument("steps", type=int, nargs="?", default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--autocast", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(args.threads)
    context, layers, heads, d, batch = CONFIGS[args.config]
    model = Gpt(context, layers, heads, d)
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=3e-4)
    tokens = torch.randint(0, VOCAB, (batch * context * 8 + 1,))
    per_epoch = (tokens.numel() - 1) // (batch * context)
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if args.autocast
                else contextlib.nullcontext())
    times = []
    for step in range(3 + args.steps):
        off = (step % per_epoch) * batch * context
        x = tokens[off:off + batch * context].view(batch, context)
        y = tokens[off + 1:off + 1 + batch * context].view(batch, context)
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = model(x, y)
        loss.backward()
        optimizer.step()
        if step >= 3:
            times.append((time.perf_counter() - start) * 1e3)
    ms = statistics.median(times)
    n_params = sum(p.numel() for p in params)
    tok = batch * context
    flops = 6 * n_params * tok + 12 * layers * context * d * tok
    print(json.dumps({"engine": "pytorch", "config": args.config, "ms_per_step": round(ms, 2),
                      "tokens_per_s": round(tok / ms * 1e3), "gflops": round(flops / ms * 1e-6, 2),
                      "params": n_params, "threads": args.threads,
                      "precision": "bf16 autocast" if args.autocast else "fp32",
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""PyTorch twin of bench/generate_bench.cpp: greedy generation from a one-token prompt to the full
context with bench/torch_gpt.py's model, with a KV cache (each block's keys and values kept, one
new token per step, as transformers' generate does) and without. One JSON line.
   /usr/bin/python3 bench/torch_generate.py small --threads 1"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

from torch_gpt import CONFIGS, Gpt


def block_step(block, x, cache):
    """One block on the new tokens x [B,t,C]; cache holds (k, v) [B,H,L,D] or None."""
    B, T, C = x.shape
    q, k, v = block.c_attn(block.ln_1(x)).split(C, dim=2)
    q, k, v = (t.view(B, T, block.heads, C // block.heads).transpose(1, 2) for t in (q, k, v))
    if cache is not None:
        k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
    att = (q @ k.transpose(-2, -1)) / math.sqrt(C // block.heads)
    if T > 1:
        att = att.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
    x = x + block.c_proj(y)
    return x + block.mlp_proj(F.gelu(block.c_fc(block.ln_2(x)), approximate="tanh")), (k, v)


def logits(model, ids, first, caches):
    x = model.wte(ids) + model.wpe(torch.arange(first, first + ids.shape[1]))
    for i, block in enumerate(model.h):
        x, caches[i] = block_step(block, x, caches[i])
    return model.ln_f(x[:, -1]) @ model.wte.weight.t()


@torch.no_grad()
def generate(model, tokens, cached):
    ids = [0]
    caches = [None] * len(model.h)
    for _ in range(tokens):
        first = len(ids) - 1 if cached and caches[0] is not None else 0  # the cache holds the rest
        out = logits(model, torch.tensor([ids[first:]]), first, caches if cached else [None] * len(model.h))
        ids.append(int(out.argmax()))
    return ids


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("config", choices=CONFIGS)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(args.threads)
    context, layers, heads, d, _ = CONFIGS[args.config]
    model = Gpt(context, layers, heads, d).eval()
    tokens, rates, outs = context - 1, {}, {}
    for cached in (True, False):
        generate(model, 8, cached)  # warm-up
        start = time.perf_counter()
        outs[cached] = generate(model, tokens, cached)
        rates[cached] = tokens / (time.perf_counter() - start)
    print(json.dumps({"config": args.config, "threads": args.threads, "tokens": tokens,
                      "kv_cache_tokens_per_s": round(rates[True], 1), "no_cache_tokens_per_s": round(rates[False], 1),
                      "same_tokens": outs[True] == outs[False], "torch": torch.__version__}))


if __name__ == "__main__":
    main()

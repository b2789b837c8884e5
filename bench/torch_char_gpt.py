#!/usr/bin/python3
"""PyTorch reference of examples/char_gpt.cpp for the end-to-end race of issue #7: the same
character-level GPT (4 layers, 4 heads, width 128, context 128, batch 16; bench/torch_gpt.py's
model with GPT-2's initialisation), data rule, AdamW, schedule, clipping and validation, trained for
the same wall time. Prints the validation curve and a final RESULT line.
   OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_char_gpt.py ../shared/data/tinyshakespeare.txt \
       --time-limit 600 --threads 2"""
import argparse
import math
import time

import torch
import torch.nn as nn

from torch_gpt import Gpt

CONTEXT, LAYERS, HEADS, WIDTH, BATCH = 128, 4, 4, 128, 16
LR, WARMUP, STEPS, VAL_EVERY, VAL_BATCHES = 2e-3, 100, 5000, 250, 32


def gpt2_init(model):
    """normal(0, 0.02) weights and embeddings, zero biases, c_proj scaled by 1/sqrt(2 layers)."""
    for name, p in model.named_parameters():
        if p.dim() < 2:
            nn.init.zeros_(p) if name.endswith("bias") else nn.init.ones_(p)
        else:
            std = 0.02 / math.sqrt(2 * LAYERS) if name.endswith(("c_proj.weight", "mlp_proj.weight")) else 0.02
            nn.init.normal_(p, 0.0, std)


def batch(tokens, step):
    """The deterministic rule of train/data_source.hpp: step s reads from (s mod epochs)·B·T."""
    per_epoch = (tokens.numel() - 1) // (BATCH * CONTEXT)
    off = (step % per_epoch) * BATCH * CONTEXT
    x = tokens[off:off + BATCH * CONTEXT].view(BATCH, CONTEXT)
    y = tokens[off + 1:off + 1 + BATCH * CONTEXT].view(BATCH, CONTEXT)
    return x, y


def lr_at(step, elapsed, time_limit):
    """Warm-up, then cosine to LR/10, advanced by whichever budget runs out first (char_gpt's)."""
    at = max(step, int(STEPS * min(elapsed / time_limit, 1.0)))
    if at < WARMUP:
        return LR * (at + 1) / WARMUP
    r = min((at - WARMUP) / (STEPS - WARMUP), 1.0)
    return LR / 10 + (LR - LR / 10) * (1 + math.cos(math.pi * r)) / 2


@torch.no_grad()
def validation_loss(model, val):
    model.eval()
    loss = sum(model(*batch(val, b)).item() for b in range(VAL_BATCHES)) / VAL_BATCHES
    model.train()
    return loss


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("text")
    parser.add_argument("--time-limit", type=float, default=600)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(1337)
    torch.set_num_threads(args.threads)
    data = open(args.text, "rb").read()
    vocab = sorted(set(data))
    index = {b: i for i, b in enumerate(vocab)}
    tokens = torch.tensor([index[b] for b in data], dtype=torch.long)
    split = int(len(tokens) * 0.9)  # TokenData::split(0.1)
    train, val = tokens[:split], tokens[split:]
    model = Gpt(CONTEXT, LAYERS, HEADS, WIDTH, vocab=len(vocab))
    gpt2_init(model)
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=LR, betas=(0.9, 0.99))
    start, step, val_loss = time.perf_counter(), 0, float("nan")
    while step < STEPS:
        elapsed = time.perf_counter() - start
        for g in optimizer.param_groups:
            g["lr"] = lr_at(step, elapsed, args.time_limit)
        optimizer.zero_grad(set_to_none=True)
        model(*batch(train, step)).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        step += 1
        last = time.perf_counter() - start >= args.time_limit or step == STEPS
        if step % VAL_EVERY == 0 or last:
            val_loss = validation_loss(model, val)
            print(f"step {step:5d}  validation loss {val_loss:.4f}  ({time.perf_counter() - start:.0f} s)",
                  flush=True)
        if last:
            break
    print(f"RESULT: validation loss {val_loss:.4f} nats/char after {step} steps in "
          f"{time.perf_counter() - start:.0f} s (PyTorch {torch.__version__}, {args.threads} threads)")


if __name__ == "__main__":
    main()

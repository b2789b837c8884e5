#!/usr/bin/python3
"""PyTorch twin of `tapegrad train` on a text for the end-to-end races (issues #7 and #18): the same
character-level GPT (4 layers, 4 heads, width 128, context 128; bench/torch_gpt.py's model with
GPT-2's initialisation), batch rule, AdamW (weight decay 0.1 on rank >= 2), clipping, schedule and
validation, trained for the same wall time. Prints each validation and a final RESULT line.
  random windows (nanoGPT's get_batch, the default) or llm.c's sequential order (--sampling);
  warm-up by steps, then cosine from --lr to --min-lr at --steps or at --time-limit, whichever
  comes first (tapegrad's LrScheduler with follow_time_limit); --min-lr = --lr gives a constant lr;
  validation: --eval-batches non-overlapping windows of the held-out 10 %, spread evenly, or 'all'.
   LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 bench/torch_char_gpt.py \
       ../shared/data/tinyshakespeare.txt --time-limit 600 --threads 2"""
import argparse
import math
import time

import torch
import torch.nn as nn

from torch_gpt import Gpt

CONTEXT, LAYERS, HEADS, WIDTH = 128, 4, 4, 128


def gpt2_init(model):
    """normal(0, 0.02) weights and embeddings, zero biases, c_proj scaled by 1/sqrt(2 layers)."""
    for name, p in model.named_parameters():
        if p.dim() < 2:
            nn.init.zeros_(p) if name.endswith("bias") else nn.init.ones_(p)
        else:
            std = 0.02 / math.sqrt(2 * LAYERS) if name.endswith(("c_proj.weight", "mlp_proj.weight")) else 0.02
            nn.init.normal_(p, 0.0, std)


def windows(tokens, starts):
    x = torch.stack([tokens[s:s + CONTEXT] for s in starts])
    y = torch.stack([tokens[s + 1:s + 1 + CONTEXT] for s in starts])
    return x, y


def sequential_starts(tokens, batch, index):
    """Batch `index` of llm.c's order: B·T tokens from (index mod epoch)·B·T."""
    per_epoch = (tokens.numel() - 1) // (batch * CONTEXT)
    off = (index % per_epoch) * batch * CONTEXT
    return [off + b * CONTEXT for b in range(batch)]


class Schedule:
    """Warm-up by steps, then the cosine advanced by whichever budget, steps or seconds, runs out first."""

    def __init__(self, args):
        self.a, self.decay_start = args, None

    def lr(self, step, elapsed):
        a = self.a
        if step < a.warmup:
            return a.lr * (step + 1) / a.warmup
        if self.decay_start is None:
            self.decay_start = elapsed
        span = a.time_limit - self.decay_start
        f = min(max((elapsed - self.decay_start) / span, 0.0), 1.0) if span > 0 else 1.0
        at = max(step, a.warmup + int((a.steps - a.warmup) * f))
        if at >= a.steps:
            return a.min_lr
        r = (at - a.warmup) / (a.steps - a.warmup)
        return a.min_lr + (a.lr - a.min_lr) * (1 + math.cos(math.pi * r)) / 2


@torch.no_grad()
def validation_loss(model, val, batch, eval_batches):
    per_epoch = (val.numel() - 1) // (batch * CONTEXT)
    n = per_epoch if eval_batches == "all" else min(int(eval_batches), per_epoch)
    model.eval()
    loss = sum(model(*windows(val, sequential_starts(val, batch, i * per_epoch // n))).item() for i in range(n)) / n
    model.train()
    return loss, n * batch * CONTEXT


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("text")
    p.add_argument("--time-limit", type=float, default=600)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=100000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--min-lr", type=float, default=None, help="default lr/10")
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--sampling", choices=["random", "sequential"], default="random")
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--eval-batches", default="16")
    args = p.parse_args()
    if args.min_lr is None:
        args.min_lr = args.lr / 10
    return args


def main():
    args = parse_args()
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
    optimizer = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.99))
    schedule, windows_rng = Schedule(args), torch.Generator().manual_seed(1337)
    start, step, best, train_sum, train_n = time.perf_counter(), 0, float("inf"), 0.0, 0
    while step < args.steps:
        for g in optimizer.param_groups:
            g["lr"] = schedule.lr(step, time.perf_counter() - start)
        if args.sampling == "random":
            starts = torch.randint(train.numel() - CONTEXT, (args.batch,), generator=windows_rng).tolist()
        else:
            starts = sequential_starts(train, args.batch, step)
        optimizer.zero_grad(set_to_none=True)
        loss = model(*windows(train, starts))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        train_sum, train_n, step = train_sum + loss.item(), train_n + 1, step + 1
        last = time.perf_counter() - start >= args.time_limit or step == args.steps
        if step % args.eval_every == 0 or last:
            val_loss, covered = validation_loss(model, val, args.batch, args.eval_batches)
            best = min(best, val_loss)
            train_mean, train_sum, train_n = train_sum / train_n, 0.0, 0
            print(f"step {step:6d}  loss {train_mean:.4f}  val_loss {val_loss:.4f}  gap {val_loss - train_mean:+.4f}"
                  f"  {covered} val tokens  ({time.perf_counter() - start:.0f} s)", flush=True)
        if last:
            break
    print(f"RESULT: validation loss {val_loss:.4f} (best {best:.4f}) nats/char after {step} steps in "
          f"{time.perf_counter() - start:.0f} s (PyTorch {torch.__version__}, {args.threads} threads, "
          f"{args.sampling} windows)")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Fine-tuning a GPT-2 124M-shaped model on this machine (issue #24), checked against PyTorch.

No weights can be downloaded here, so the model is GPT-2 124M's shape (12 layers, 12 heads, width
768, 1024 positions, GPT-2's 50257-token BPE) with random weights, written in Hugging Face's layout
with GPT-2's real tokenizer files beside it. `tapegrad train --init` fine-tunes it at batch 4 x 64
tokens on a text of ours (tinyshakespeare's first 64 KB when ../shared/data has it); the same
weights and batches then train in float64 PyTorch (the model of tests/fixtures/torch_gpt_parity.py).
Prints tapegrad's seconds per step and peak memory, and both losses at every step with their
relative difference (the target: 1e-4).
   /usr/bin/python3 bench/gpt2_124m.py OUT [--steps 5] [--tapegrad build/tapegrad]"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import torch_gpt_parity as parity  # noqa: E402  the plain-PyTorch GPT-2 and its safetensors writer

BPE = os.path.join(ROOT, "..", "shared", "data", "gpt2-bpe")
SHAKESPEARE = os.path.join(ROOT, "..", "shared", "data", "tinyshakespeare.txt")
VOCAB = 50257
parity.SIZES.update(n_layer=12, n_head=12, n_embd=768, n_positions=1024)
# Fine-tuning rates; the rest of the recipe is the parity script's (warm-up, clipping, decay).
parity.BATCH, parity.BLOCK, parity.LR, parity.MIN_LR = 4, 64, 1e-4, 1e-5


def training_text():
    if os.path.exists(SHAKESPEARE):
        with open(SHAKESPEARE, encoding="utf-8") as f:
            return f.read(65536)
    return parity.text() * 8


def write_model(model_dir):
    os.makedirs(model_dir, exist_ok=True)
    p = parity.gpt_parameters(VOCAB, torch.Generator().manual_seed(124))
    parity.write_safetensors(os.path.join(model_dir, "model.safetensors"), p)
    config = dict(model_type="gpt2", vocab_size=VOCAB, layer_norm_epsilon=1e-5, **parity.SIZES)
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for name in ("encoder.json", "vocab.bpe"):  # OpenAI's names for GPT-2's tokenizer files
        shutil.copy(os.path.join(BPE, name), model_dir)
    return p


def tapegrad_run(tapegrad, model_dir, data, metrics, steps):
    args = [tapegrad, "train", "--init", model_dir, "--data", data, "--steps", str(steps),
            "--batch", str(parity.BATCH), "--block-size", str(parity.BLOCK), "--lr", str(parity.LR),
            "--min-lr", str(parity.MIN_LR), "--warmup", str(parity.WARMUP),
            "--weight-decay", str(parity.WD), "--grad-clip", str(parity.CLIP),
            "--val-fraction", str(parity.VAL), "--optimizer", "adamw", "--eval-every", "0",
            "--sampling", "sequential", "--quiet", "--metrics", metrics]
    start = time.perf_counter()
    subprocess.run(args, check=True)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with open(metrics) as f:
        rows = [json.loads(line) for line in f]
    return rows, wall, peak_mb


def torch_losses(p, ids, steps):
    """The parity script's training loop, in float64, on the token ids tapegrad trained on."""
    p = {k: v.detach().double().requires_grad_() for k, v in p.items()}
    train = ids[: int(len(ids) * (1.0 - parity.VAL))]
    B, T = parity.BATCH, parity.BLOCK
    per_epoch = (len(train) - 1) // (B * T)
    groups = [{"params": [t for t in p.values() if t.dim() >= 2], "weight_decay": parity.WD},
              {"params": [t for t in p.values() if t.dim() < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=parity.LR)
    losses = []
    for step in range(steps):
        off = (step % per_epoch) * B * T
        x, y = train[off:off + B * T].view(B, T), train[off + 1:off + 1 + B * T].view(B, T)
        optimizer.zero_grad(set_to_none=True)
        loss = parity.loss_of(p, x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), parity.CLIP)
        for g in optimizer.param_groups:
            g["lr"] = parity.lr_at(step, steps)
        optimizer.step()
        losses.append(loss.item())
    return losses


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--tapegrad", default=os.path.join(ROOT, "build", "tapegrad"))
    args = parser.parse_args()
    if not os.path.exists(os.path.join(BPE, "encoder.json")):
        sys.exit(f"needs GPT-2's tokenizer files in {BPE}")
    model_dir, data = os.path.join(args.out, "model"), os.path.join(args.out, "data.txt")
    p = write_model(model_dir)
    text = training_text()
    with open(data, "w", encoding="utf-8") as f:
        f.write(text)
    ids = subprocess.run([args.tapegrad, "tokenize", "--model", model_dir, "--text", text],
                         check=True, capture_output=True, text=True).stdout.split()
    ids = torch.tensor([int(i) for i in ids])

    rows, wall, peak_mb = tapegrad_run(args.tapegrad, model_dir, data,
                                       os.path.join(args.out, "metrics.jsonl"), args.steps)
    # elapsed is cumulative from the start of training: the first step includes warm-up
    elapsed = [r["elapsed"] for r in rows]
    per_step = (elapsed[-1] - elapsed[0]) / (len(elapsed) - 1)
    print(f"tapegrad: {len(ids)} tokens, {args.steps} steps at batch {parity.BATCH} x "
          f"{parity.BLOCK}: {per_step:.2f} s/step after the first ({elapsed[0]:.2f} s), "
          f"{wall:.1f} s in all with loading, peak memory {peak_mb:.0f} MB")

    torch.set_num_threads(2)
    start = time.perf_counter()
    theirs = torch_losses(p, ids, args.steps)
    print(f"PyTorch float64: {(time.perf_counter() - start) / args.steps:.2f} s/step")
    worst = 0.0
    for step, (row, loss) in enumerate(zip(rows, theirs)):
        rel = abs(row["loss"] - loss) / abs(loss)
        worst = max(worst, rel)
        print(f"step {step}: tapegrad {row['loss']:.6f}  PyTorch f64 {loss:.6f}  relative {rel:.1e}")
    print(json.dumps({"s_per_step": round(per_step, 3), "peak_mb": round(peak_mb),
                      "worst_relative": worst, "within_1e-4": worst <= 1e-4}))


if __name__ == "__main__":
    main()

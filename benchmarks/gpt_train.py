"""Training speed of the GPT: this engine against PyTorch CPU, same model, same machine.

The model is nanoGPT's CPU configuration for Tiny Shakespeare (n_layer 4, n_head 4, n_embd 128,
block_size 64, batch 12, vocabulary 65, dropout 0). One iteration is forward, backward,
gradient clipping and an AdamW step. The script prints iterations per second for both, their
ratio, and the model FLOPs utilisation (MFU) of each: the model's FLOPs per second divided by
the machine's float32 peak, measured here with a large numpy matmul.

    python benchmarks/gpt_train.py              # the libraries' default threads
    python benchmarks/gpt_train.py --threads 1  # one thread each (fairer on a busy machine)
"""

import argparse
import os
import sys
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--iters", type=int, default=20, help="timed iterations per round")
parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating; the best counts")
parser.add_argument("--threads", type=int, default=None, help="engine, BLAS and torch threads")
args = parser.parse_args()
if args.threads is not None:  # must be set before numpy loads OpenBLAS
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.threads)

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from gpt_from_scratch.gpt import GPT, GPTConfig  # noqa: E402
from gpt_from_scratch.makemore.train import train_step  # noqa: E402
from gpt_from_scratch.tensor import (  # noqa: E402
    get_num_threads,
    manual_seed,
    set_num_threads,
)

CONFIG = GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
BATCH = 12


def model_flops_per_iteration(config: GPTConfig, num_params: int) -> float:
    """6 FLOPs per parameter per token (forward 2, backward 4), plus attention's T x T products:
    12 n_layer n_embd T per token (the estimate of the PaLM paper, as nanoGPT uses it)."""
    tokens = BATCH * config.block_size
    non_embedding = num_params - config.block_size * config.n_embd  # position table is a lookup
    attention = 12 * config.n_layer * config.n_embd * config.block_size
    return (6 * non_embedding + attention) * tokens


def peak_flops(threads: int, n: int = 2048, repeats: int = 5) -> float:
    """The best float32 matmul speed of numpy's BLAS on this machine with `threads`, in FLOP/s.

    The engine holds BLAS to one thread while it runs its own, so the limit is lifted here.
    """
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    best = float("inf")
    with threadpool_limits(limits=threads, user_api="blas"):
        for _ in range(repeats):
            start = time.perf_counter()
            a @ a
            best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def engine_step_function(x, y):
    manual_seed(0)
    model = GPT(CONFIG)
    optimizer = model.configure_optimizer(lr=1e-3, weight_decay=0.1)

    def step():
        train_step(model, optimizer, x, y, grad_clip=1.0)

    return step, model.num_parameters()


def torch_step_function(torch, x, y):
    """The same GPT in PyTorch (pre-norm blocks, fused attention, GELU-tanh, tied head)."""
    nn, F = torch.nn, torch.nn.functional
    C, nh = CONFIG.n_embd, CONFIG.n_head

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
            self.c_attn, self.attn_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
            self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

        def forward(self, x):
            B, T, _ = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
            q, k, v = (t.view(B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v))
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn_proj(att.transpose(1, 2).reshape(B, T, C))
            return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(CONFIG.vocab_size, C)
            self.wpe = nn.Embedding(CONFIG.block_size, C)
            self.blocks = nn.ModuleList(Block() for _ in range(CONFIG.n_layer))
            self.ln_f = nn.LayerNorm(C)

        def forward(self, idx, targets):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for block in self.blocks:
                x = block(x)
            logits = self.ln_f(x) @ self.wte.weight.T
            return F.cross_entropy(logits.view(-1, CONFIG.vocab_size), targets.view(-1))

    torch.manual_seed(0)
    model = TorchGPT()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-3,
        betas=(0.9, 0.99),
    )
    tx, ty = torch.tensor(x), torch.tensor(y)

    def step():
        loss = model(tx, ty)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    return step


def iterations_per_second(step, iters: int) -> float:
    start = time.perf_counter()
    for _ in range(iters):
        step()
    return iters / (time.perf_counter() - start)


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, CONFIG.vocab_size, (BATCH, CONFIG.block_size))
    y = rng.integers(0, CONFIG.vocab_size, (BATCH, CONFIG.block_size))
    ours, num_params = engine_step_function(x, y)
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: only this engine is timed", file=sys.stderr)
    if args.threads is not None:
        set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    theirs = torch_step_function(torch, x, y) if torch is not None else None
    best = {"engine": 0.0, "torch": 0.0}
    peak = 0.0
    for step in (ours, theirs):  # warm up: first-call allocations, caches
        if step is not None:
            for _ in range(3):
                step()
    for _ in range(args.rounds):  # alternate, so that a load spike hurts all three alike
        best["engine"] = max(best["engine"], iterations_per_second(ours, args.iters))
        if theirs is not None:
            best["torch"] = max(best["torch"], iterations_per_second(theirs, args.iters))
        peak = max(peak, peak_flops(get_num_threads(), repeats=2))
    flops = model_flops_per_iteration(CONFIG, num_params)
    threads = args.threads if args.threads is not None else "default"
    print(
        f"nanoGPT CPU configuration: {num_params:,} parameters, batch {BATCH} x "
        f"{CONFIG.block_size} tokens, {flops / 1e9:.2f} GFLOP per iteration, threads {threads}"
    )
    print(f"machine float32 matmul peak (numpy 2048^3): {peak / 1e9:.1f} GFLOP/s")
    print(f"this engine : {best['engine']:6.2f} it/s   MFU {best['engine'] * flops / peak:6.1%}")
    if theirs is not None:
        print(f"PyTorch CPU : {best['torch']:6.2f} it/s   MFU {best['torch'] * flops / peak:6.1%}")
        print(f"step time ratio (engine / PyTorch): {best['torch'] / best['engine']:.2f}x")
    print(f"2000 iterations at this speed: {2000 / best['engine'] / 60:.1f} minutes")


if __name__ == "__main__":
    main()

"""One training step (forward + backward + AdamW step) of our tensor engine against PyTorch CPU.

Models, the same in both engines (float32, PyTorch's thread count left at its default):
1. makemore MLP: embedding 27x10, context 3, hidden 200 tanh, 27 outputs, batch 32.
2. The same MLP with BatchNorm1d before the tanh (and no bias in the first layer).
3. A small GPT: token + position embeddings, one Transformer block (LayerNorm, 4-head causal
   self-attention written with plain ops, GELU MLP, residuals), final LayerNorm, a head, and
   cross-entropy; batch 12, context 64, width 128, vocabulary 65.
The two engines take turns of ten steps, so both see the same machine load. Prints the median
step time of each (after warm-up) and the ratio ours / torch, both in wall-clock time and in
process CPU time (all threads). Target: ratio <= 1.3 on every model.

Run: python benchmarks/tensor_step.py [--repeats 100] [--torch-threads N]
"""

import argparse
import functools
import math
import statistics
import time

import numpy as np

from gpt_from_scratch.tensor import functional as F
from gpt_from_scratch.tensor import manual_seed, nn, optim

VOCAB, CONTEXT, EMBED, HIDDEN, BATCH = 27, 3, 10, 200, 32
GPT_VOCAB, GPT_BATCH, GPT_CONTEXT, GPT_WIDTH, GPT_HEADS = 65, 12, 64, 128, 4


# ----- our engine -----


class MLP(nn.Module):
    def __init__(self, batchnorm=False):
        self.embedding = nn.Embedding(VOCAB, EMBED)
        self.hidden = nn.Linear(CONTEXT * EMBED, HIDDEN, bias=not batchnorm)
        self.norm = nn.BatchNorm1d(HIDDEN) if batchnorm else None
        self.out = nn.Linear(HIDDEN, VOCAB)

    def forward(self, ids, targets):
        x = self.embedding(ids).reshape(ids.shape[0], -1)  # (B, CONTEXT * EMBED)
        h = self.hidden(x)  # (B, HIDDEN)
        if self.norm is not None:
            h = self.norm(h)
        return F.cross_entropy(self.out(h.tanh()), targets)


class CausalSelfAttention(nn.Module):
    def __init__(self, width, heads):
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.heads
        qkv = self.qkv(x).reshape(B, T, 3, self.heads, hs).permute(2, 0, 3, 1, 4)  # (3,B,nh,T,hs)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (B, nh, T, hs)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, nh, T, T)
        future = np.triu(np.ones((T, T), dtype=bool), k=1)  # (T, T) True above the diagonal
        weights = scores.masked_fill(future, -np.inf).softmax(axis=-1)  # (B, nh, T, T)
        y = (weights @ v).transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, width, heads):
        self.ln1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads)
        self.ln2 = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.fc_out = nn.Linear(4 * width, width)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))  # (B, T, C)
        return x + self.fc_out(self.fc(self.ln2(x)).gelu())  # (B, T, C)


class TinyGPT(nn.Module):
    def __init__(self):
        self.tokens = nn.Embedding(GPT_VOCAB, GPT_WIDTH)
        self.positions = nn.Embedding(GPT_CONTEXT, GPT_WIDTH)
        self.block = Block(GPT_WIDTH, GPT_HEADS)
        self.ln_f = nn.LayerNorm(GPT_WIDTH)
        self.head = nn.Linear(GPT_WIDTH, GPT_VOCAB)

    def forward(self, ids, targets):
        T = ids.shape[1]
        x = self.tokens(ids) + self.positions(np.arange(T))  # (B, T, C)
        logits = self.head(self.ln_f(self.block(x)))  # (B, T, vocab)
        return F.cross_entropy(logits.reshape(-1, GPT_VOCAB), targets.reshape(-1))


def our_step(model, optimizer, ids, targets):
    optimizer.zero_grad()
    loss = model(ids, targets)
    loss.backward()
    optimizer.step()
    return loss.item()


# ----- PyTorch -----


def torch_models(torch):
    tnn = torch.nn

    class TorchMLP(tnn.Module):
        def __init__(self, batchnorm=False):
            super().__init__()
            self.embedding = tnn.Embedding(VOCAB, EMBED)
            self.hidden = tnn.Linear(CONTEXT * EMBED, HIDDEN, bias=not batchnorm)
            self.norm = tnn.BatchNorm1d(HIDDEN) if batchnorm else None
            self.out = tnn.Linear(HIDDEN, VOCAB)

        def forward(self, ids, targets):
            h = self.hidden(self.embedding(ids).view(ids.shape[0], -1))
            if self.norm is not None:
                h = self.norm(h)
            return tnn.functional.cross_entropy(self.out(torch.tanh(h)), targets)

    class TorchAttention(tnn.Module):
        def __init__(self, width, heads):
            super().__init__()
            self.heads = heads
            self.qkv = tnn.Linear(width, 3 * width)
            self.proj = tnn.Linear(width, width)

        def forward(self, x):
            B, T, C = x.shape
            hs = C // self.heads
            qkv = self.qkv(x).view(B, T, 3, self.heads, hs).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
            future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
            weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
            return self.proj((weights @ v).transpose(1, 2).reshape(B, T, C))

    class TorchBlock(tnn.Module):
        def __init__(self, width, heads):
            super().__init__()
            self.ln1 = tnn.LayerNorm(width)
            self.attn = TorchAttention(width, heads)
            self.ln2 = tnn.LayerNorm(width)
            self.fc = tnn.Linear(width, 4 * width)
            self.fc_out = tnn.Linear(4 * width, width)

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            gelu = tnn.functional.gelu(self.fc(self.ln2(x)), approximate="tanh")
            return x + self.fc_out(gelu)

    class TorchGPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.tokens = tnn.Embedding(GPT_VOCAB, GPT_WIDTH)
            self.positions = tnn.Embedding(GPT_CONTEXT, GPT_WIDTH)
            self.block = TorchBlock(GPT_WIDTH, GPT_HEADS)
            self.ln_f = tnn.LayerNorm(GPT_WIDTH)
            self.head = tnn.Linear(GPT_WIDTH, GPT_VOCAB)

        def forward(self, ids, targets):
            T = ids.shape[1]
            x = self.tokens(ids) + self.positions(torch.arange(T))
            logits = self.head(self.ln_f(self.block(x)))
            return tnn.functional.cross_entropy(logits.view(-1, GPT_VOCAB), targets.view(-1))

    return TorchMLP, TorchGPT


def torch_step(torch, model, optimizer, ids, targets):
    optimizer.zero_grad(set_to_none=True)
    loss = model(ids, targets)
    loss.backward()
    optimizer.step()
    return loss.item()


# ----- timing -----


def timed(step):
    """Wall-clock and process CPU seconds of one call of `step()`."""
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - start_wall, time.process_time() - start_cpu


def median_times(steps, repeats, warmup=10, turn=10):
    """For each step function: median wall-clock and median CPU seconds of one call.

    The steps take turns of `turn` calls each (ours, torch, ours, torch, ...), so on a shared
    machine both see the same load and their ratio stays meaningful even when the times drift.
    Turns of several calls rather than one: an engine's idle threads stay awake for a moment
    after its last call (PyTorch's OpenMP threads spin, waiting for work), and alternating every
    call would charge that moment to the other engine. CPU time counts every thread of the
    process: the work done. Wall-clock time is what a user waits, including any wait for a core.
    """
    for _ in range(warmup):
        for step in steps:
            step()
    samples = [[] for _ in steps]
    for _ in range(-(-repeats // turn)):
        for step, sample in zip(steps, samples, strict=True):
            sample.extend(timed(step) for _ in range(turn))
    return [
        (statistics.median(w for w, _ in sample), statistics.median(c for _, c in sample))
        for sample in samples
    ]


def arguments_and_torch(description: str):
    """A step benchmark's flags (--repeats, --torch-threads) and torch, None when it is not
    installed; torch's thread count set as the flag asks."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=100, help="timed steps per model")
    parser.add_argument(
        "--torch-threads", type=int, default=None, help="torch.set_num_threads (default: untouched)"
    )
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: timing our engine only")
        return args, None
    if args.torch_threads is not None:
        torch.set_num_threads(args.torch_threads)
    return args, torch


def main():
    args, torch = arguments_and_torch(__doc__.splitlines()[0])

    manual_seed(0)
    rng = np.random.default_rng(0)
    mlp_data = (rng.integers(0, VOCAB, (BATCH, CONTEXT)), rng.integers(0, VOCAB, BATCH))
    gpt_shape = (GPT_BATCH, GPT_CONTEXT)
    gpt_data = (rng.integers(0, GPT_VOCAB, gpt_shape), rng.integers(0, GPT_VOCAB, gpt_shape))
    cases = [
        ("makemore MLP", lambda: MLP(), mlp_data, "mlp"),
        ("makemore MLP + BatchNorm", lambda: MLP(batchnorm=True), mlp_data, "mlp_bn"),
        ("GPT block (B=12, T=64, C=128, 4 heads)", TinyGPT, gpt_data, "gpt"),
    ]
    if torch is not None:
        TorchMLP, TorchGPT = torch_models(torch)
        torch.manual_seed(0)
        torch_builders = {
            "mlp": lambda: TorchMLP(),
            "mlp_bn": lambda: TorchMLP(batchnorm=True),
            "gpt": TorchGPT,
        }
        print(f"PyTorch {torch.__version__} CPU, {torch.get_num_threads()} threads")
    print(f"{'model':40s} {'clock':>5s} {'ours ms':>9s} {'torch ms':>9s} {'ours/torch':>10s}")
    for title, build, (ids, targets), key in cases:
        model = build()
        opt = optim.AdamW(model.parameters(), lr=1e-3)
        steps = [functools.partial(our_step, model, opt, ids, targets)]
        if torch is not None:
            tmodel = torch_builders[key]()
            topt = torch.optim.AdamW(tmodel.parameters(), lr=1e-3)
            tids, ttargets = torch.from_numpy(ids), torch.from_numpy(targets)
            steps.append(functools.partial(torch_step, torch, tmodel, topt, tids, ttargets))
        results = median_times(steps, args.repeats)
        for k, clock in enumerate(("wall", "cpu")):
            ours = results[0][k]
            line = f"{title:40s} {clock:>5s} {ours * 1e3:9.3f}"
            if torch is not None:
                theirs = results[1][k]
                line += f" {theirs * 1e3:9.3f} {ours / theirs:10.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()

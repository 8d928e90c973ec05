"""One training step (forward + backward + AdamW step) of makemore's GRU, ours against PyTorch CPU.

The model, makemore's GRU at its default sizes: a batch of 32 contexts of 16 characters,
embeddings of 64 (27 characters), a hidden state of 64 read from a learned start, logits of the
last state, cross-entropy; AdamW with makemore's lr 5e-4 and weight decay 0.01. float32, and
PyTorch's thread count left at its default. Timed:

1. ours: ``makemore.recurrent.RNN(cell_type="gru")``, the context read by one fused node;
2. ours unrolled (``fused=False``): the readable cells, a dozen graph nodes per character;
3. the PyTorch twin: makemore's GRU formulation written in torch ops (torch.cat, nn.Linear,
   sigmoid, tanh, a loop over the characters), holding copies of our weights; the script checks
   that it computes our loss, and the ratios are to it;
4. ``torch.nn.GRU``: PyTorch's own GRU, for timing only: its reset gate multiplies
   (W_hn h + b_hn) after the product, where makemore's multiplies h before it, so the two
   compute different functions of the same sizes.

The engines take turns of ten steps (see ``tensor_step.median_times``), so they see the same
machine load. Prints the median step time of each (after warm-up) in wall-clock and process CPU
time, and the ratio to the twin. Target: ours at most 1.5x the twin's time.

Run: python benchmarks/gru_step.py [--repeats 100] [--torch-threads N]
"""

import functools

import numpy as np
from tensor_step import arguments_and_torch, median_times

from gpt_from_scratch.makemore.recurrent import RNN
from gpt_from_scratch.makemore.train import train_step
from gpt_from_scratch.tensor import manual_seed, optim

VOCAB, CONTEXT, EMBED, HIDDEN, BATCH = 27, 16, 64, 64, 32
LR, WEIGHT_DECAY = 5e-4, 0.01


def torch_models(torch):
    """(the twin of makemore's GRU model, the same sizes around torch.nn.GRU)."""
    tnn, F = torch.nn, torch.nn.functional

    class GRUCell(tnn.Module):  # makemore's formulation, written from its equations
        def __init__(self):
            super().__init__()
            self.xh_to_z = tnn.Linear(EMBED + HIDDEN, HIDDEN)
            self.xh_to_r = tnn.Linear(EMBED + HIDDEN, HIDDEN)
            self.xh_to_hbar = tnn.Linear(EMBED + HIDDEN, HIDDEN)

        def forward(self, x, h):
            both = torch.cat([x, h], dim=1)  # (B, EMBED + HIDDEN)
            reset = torch.sigmoid(self.xh_to_r(both))
            update = torch.sigmoid(self.xh_to_z(both))
            candidate = torch.tanh(self.xh_to_hbar(torch.cat([x, reset * h], dim=1)))
            return (1 - update) * h + update * candidate

    class TwinGRU(tnn.Module):
        def __init__(self):
            super().__init__()
            self.start = tnn.Parameter(torch.zeros(1, HIDDEN))
            self.wte = tnn.Embedding(VOCAB, EMBED)
            self.cell = GRUCell()
            self.lm_head = tnn.Linear(HIDDEN, VOCAB)

        def forward(self, idx, targets):
            emb = self.wte(idx)  # (B, T, EMBED)
            h = self.start.expand((idx.shape[0], -1))  # (B, HIDDEN)
            for t in range(idx.shape[1]):
                h = self.cell(emb[:, t, :], h)
            return F.cross_entropy(self.lm_head(h), targets)

    class TorchGRU(tnn.Module):
        def __init__(self):
            super().__init__()
            self.start = tnn.Parameter(torch.zeros(1, 1, HIDDEN))
            self.wte = tnn.Embedding(VOCAB, EMBED)
            self.gru = tnn.GRU(EMBED, HIDDEN, batch_first=True)
            self.lm_head = tnn.Linear(HIDDEN, VOCAB)

        def forward(self, idx, targets):
            h0 = self.start.expand(1, idx.shape[0], HIDDEN).contiguous()  # (1, B, HIDDEN)
            hidden, _ = self.gru(self.wte(idx), h0)  # (B, T, HIDDEN)
            return F.cross_entropy(self.lm_head(hidden[:, -1]), targets)

    return TwinGRU, TorchGRU


def copy_weights(torch, ours, twin):
    """Our parameters into the twin: the same names, our Linear weights transposed."""
    with torch.no_grad():
        theirs = dict(twin.named_parameters())
        for name, p in ours.named_parameters():
            array = p.data.T if name.endswith(".weight") and "wte" not in name else p.data
            theirs[name].copy_(torch.from_numpy(np.ascontiguousarray(array)))


def our_timing(model, ids, targets):
    """The function that times one of our steps: the training loop's ``train_step``."""
    opt = optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    return functools.partial(train_step, model, opt, ids, targets, None)


def torch_step(model, optimizer, ids, targets):
    optimizer.zero_grad(set_to_none=True)
    loss = model(ids, targets)
    loss.backward()
    optimizer.step()
    return loss.item()


def torch_timing(torch, model, ids, targets):
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    return functools.partial(torch_step, model, opt, ids, targets)


def check_same_loss(torch, ours, twin, ids, targets):
    """The comparison is void unless the twin computes our loss from our weights."""
    mine = ours(ids, targets)[1].item()
    with torch.no_grad():
        theirs = twin(torch.from_numpy(ids), torch.from_numpy(targets)).item()
    if abs(mine - theirs) > 1e-4:
        raise SystemExit(f"the twin's loss {theirs:.6f} is not ours {mine:.6f}: comparison void")


def main():
    args, torch = arguments_and_torch(__doc__.splitlines()[0])

    manual_seed(0)
    rng = np.random.default_rng(0)
    ids, targets = rng.integers(0, VOCAB, (BATCH, CONTEXT)), rng.integers(0, VOCAB, BATCH)
    ours = RNN(VOCAB, CONTEXT, EMBED, HIDDEN, cell_type="gru")
    models = {
        "ours (fused)": ours,
        "ours (unrolled)": RNN(VOCAB, CONTEXT, EMBED, HIDDEN, cell_type="gru", fused=False),
    }
    steps = [our_timing(model, ids, targets) for model in models.values()]
    if torch is not None:
        print(f"PyTorch {torch.__version__} CPU, {torch.get_num_threads()} threads")
        TwinGRU, TorchGRU = torch_models(torch)
        torch.manual_seed(0)
        models["PyTorch twin"], models["torch.nn.GRU (other formula)"] = TwinGRU(), TorchGRU()
        copy_weights(torch, ours, models["PyTorch twin"])
        check_same_loss(torch, ours, models["PyTorch twin"], ids, targets)
        tids, ttargets = torch.from_numpy(ids), torch.from_numpy(targets)
        steps += [torch_timing(torch, models[name], tids, ttargets) for name in list(models)[2:]]
    results = median_times(steps, args.repeats)
    print(f"GRU step: batch {BATCH}, context {CONTEXT}, n_embd {EMBED}, n_embd2 {HIDDEN}")
    print(f"{'model':30s} {'wall ms':>9s} {'cpu ms':>9s} {'wall/twin':>9s} {'cpu/twin':>9s}")
    for name, (wall, cpu) in zip(models, results, strict=True):
        line = f"{name:30s} {wall * 1e3:9.3f} {cpu * 1e3:9.3f}"
        if torch is not None:
            twin_wall, twin_cpu = results[2]
            line += f" {wall / twin_wall:9.2f} {cpu / twin_cpu:9.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()

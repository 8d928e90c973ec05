"""The registry of the ``makemore`` command: the models it can train, by name, each with its
default settings. It lives on the commands floor because it spans the parts: Part II's models
and Part III's GPT.

An entry of :data:`MODEL_TYPES` says how to build the model from a vocabulary size and a JSON-able
configuration (what a checkpoint stores), which configuration keys it takes with their defaults,
and how it trains by default. Adding a model to the command is one more entry::

    MODEL_TYPES["mine"] = ModelType(build=MyModel, config={"block_size": 8, "n_embd": 32})

>>> {"bigram", "mlp", "wavenet"} <= set(MODEL_TYPES)
True
>>> build_model("wavenet", vocab_size=27, config={"n_embd": 24}).block_size
8
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gpt_from_scratch.gpt.model import NextCharacterGPT
from gpt_from_scratch.makemore.bigram import NeuralBigram
from gpt_from_scratch.makemore.bow import BoW
from gpt_from_scratch.makemore.mlp import MLP
from gpt_from_scratch.makemore.recurrent import RNN
from gpt_from_scratch.makemore.wavenet import WaveNet
from gpt_from_scratch.tensor import optim


@dataclass(frozen=True)
class Training:
    """How a model trains unless the command line says otherwise.

    The learning rate follows ``schedule``: ``"step"`` holds ``lr`` until the fraction
    ``decay_at`` of the steps, then ``lr_final`` (the lectures' schedule); ``"cosine"`` warms
    up linearly over ``warmup_steps``, then follows a cosine from ``lr`` down to ``lr_final``;
    ``"constant"`` keeps ``lr``.
    """

    steps: int = 200_000
    batch_size: int = 32
    optimizer: str = "sgd"
    lr: float = 0.1
    lr_final: float = 0.01
    schedule: str = "step"
    decay_at: float = 0.75
    warmup_steps: int = 0
    weight_decay: float = 0.0

    def learning_rates(self):
        """The learning rate of each step: ``schedule`` as one of ``tensor.optim``'s schedules.

        >>> schedule = Training(steps=100, lr=0.1, lr_final=0.01, decay_at=0.75).learning_rates()
        >>> schedule(74), schedule(75)
        (0.1, 0.01)
        """
        if self.schedule == "step":
            return optim.step_decay(self.lr, self.lr_final, at=self.decay_at * self.steps)
        if self.schedule == "cosine":
            return optim.warmup_cosine(self.lr, self.warmup_steps, self.steps, self.lr_final)
        return optim.constant(self.lr)


@dataclass(frozen=True)
class ModelType:
    """``build(vocab_size, **config)`` makes the model; ``config`` lists every key it takes."""

    build: Callable[..., Any]
    config: dict[str, Any] = field(default_factory=dict)
    training: Training = Training()
    about: str = ""


# makemore.py's defaults: AdamW at lr 5e-4, weight decay 0.01, batches of 32. makemore
# trains until it is stopped; here 20,000 steps, the transformer type's.
MAKEMORE_ADAMW = Training(
    steps=20_000,
    optimizer="adamw",
    lr=5e-4,
    lr_final=5e-4,
    schedule="constant",
    weight_decay=0.01,
)

MODEL_TYPES: dict[str, ModelType] = {
    "bigram": ModelType(
        build=NeuralBigram,
        training=Training(
            steps=5_000,
            batch_size=512,
            lr=10.0,
            lr_final=1.0,
            decay_at=0.5,
        ),
        about="one character of context, one table of logits",
    ),
    "mlp": ModelType(
        build=MLP,
        config={"block_size": 3, "n_embd": 10, "n_hidden": 200},
        training=Training(decay_at=0.5),
        about="Bengio et al. (2003): embeddings, one tanh layer",
    ),
    "wavenet": ModelType(
        build=WaveNet,
        config={"block_size": 8, "n_embd": 24, "n_hidden": 128},
        training=Training(decay_at=0.75),
        about="a tree fusing two neighbours per layer (van den Oord et al., 2016)",
    ),
    "rnn": ModelType(
        build=partial(RNN, cell_type="rnn"),
        config={"block_size": 16, "n_embd": 64, "n_embd2": 64},
        training=MAKEMORE_ADAMW,
        about="a tanh cell read over the context (Mikolov et al., 2010)",
    ),
    "gru": ModelType(
        build=partial(RNN, cell_type="gru"),
        config={"block_size": 16, "n_embd": 64, "n_embd2": 64},
        training=MAKEMORE_ADAMW,
        about="a gated recurrent cell, makemore's formulation (Cho et al., 2014)",
    ),
    "bow": ModelType(
        build=BoW,
        config={"block_size": 16, "n_embd": 64, "n_embd2": 64},
        training=MAKEMORE_ADAMW,
        about="a causal average of the context, then an MLP",
    ),
    "transformer": ModelType(
        build=NextCharacterGPT,
        config={
            "block_size": 16,
            "n_layer": 4,
            "n_head": 4,
            "n_embd": 64,
            "dropout": 0.0,
        },
        training=Training(
            steps=20_000,
            optimizer="adamw",
            lr=1e-3,
            lr_final=1e-4,
            schedule="cosine",
            warmup_steps=200,
            weight_decay=0.01,
        ),
        about="the GPT of Part III, read at the window's end (Vaswani et al., 2017)",
    ),
}


def model_config(model_type: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full configuration of ``model_type``: its defaults, updated by ``overrides``.

    A key the model does not take is a ``ValueError`` naming the keys it does take.

    >>> model_config("mlp", {"n_hidden": 64})
    {'block_size': 3, 'n_embd': 10, 'n_hidden': 64}
    """
    entry = model_type_entry(model_type)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(entry.config))
    if unknown:
        takes = ", ".join(sorted(entry.config)) or "no settings"
        raise ValueError(f"the {model_type} model has no setting {unknown}; it takes: {takes}")
    return {**entry.config, **overrides}


def model_type_entry(model_type: str) -> ModelType:
    """The registry entry of ``model_type``, or a ``ValueError`` listing the known types."""
    if model_type not in MODEL_TYPES:
        raise ValueError(f"unknown model type {model_type!r}; known: {', '.join(MODEL_TYPES)}")
    return MODEL_TYPES[model_type]


def build_model(model_type: str, vocab_size: int, config: dict[str, Any] | None = None):
    """A freshly initialized model of ``model_type`` with ``config`` over the defaults."""
    return model_type_entry(model_type).build(vocab_size, **model_config(model_type, config))

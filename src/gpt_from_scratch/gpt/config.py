"""The GPT's configuration: every number that fixes the model's shape, in one dataclass.

>>> config = GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128)
>>> config.head_size
32
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a decoder-only Transformer.

    The defaults are nanoGPT's CPU configuration for Tiny Shakespeare. The three switches
    ``mlp``, ``residual`` and ``layer_norm`` exist for the chapter, which turns the pieces on
    one at a time to measure what each is worth; a GPT has all three.
    """

    vocab_size: int = 65
    block_size: int = 64  # the longest context, in tokens
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True  # biases in the linear layers
    mlp: bool = True  # the feed-forward half of each block
    residual: bool = True  # x + f(x) instead of f(x)
    layer_norm: bool = True  # pre-norm LayerNorm in each block and before the head

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"GPTConfig.{name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"GPTConfig: n_embd={self.n_embd} must be divisible by n_head={self.n_head} "
                "(each head gets n_embd / n_head channels)"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig.dropout must be in [0, 1), got {self.dropout!r}")

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict) -> GPTConfig:
        """The inverse of :meth:`to_json`; unknown keys are an error naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(obj) - known)
        if unknown:
            raise ValueError(f"GPTConfig: unknown configuration keys {unknown}")
        return cls(**obj)

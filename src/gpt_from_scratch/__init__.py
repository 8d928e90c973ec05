"""GPT from Scratch: every piece of a GPT, built on numpy, one subpackage per part of the book.

- ``micrograd``: a scalar autograd engine and neural networks made of it (Part I)
- ``tensor``: the same engine on numpy arrays, with ``nn`` and ``optim`` (Part I)
- ``makemore``: character-level language models of names (Part II)
- ``gpt``: a decoder-only Transformer (Part III)
- ``bpe``: the byte-level BPE tokenizer of GPT-2 and GPT-4 (Part III)
- ``data``: the data sets, found locally or downloaded and checked
"""

__version__ = "0.1.0"

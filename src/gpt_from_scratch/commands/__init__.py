"""The top floor: every command of the book, and nothing a chapter shows.

Argument parsing, progress bars, run folders and the registry of makemore's ``--type``s live
here, on top of the parts they drive; ``python -m gpt_from_scratch.<part>`` is a thin entry into
the module of the same name. No part imports this package.

- ``data``: fetch and check the data sets
- ``micrograd``: train the scalar MLP on two moons
- ``makemore`` (with ``models``, the registry): train, resume and sample any makemore model
- ``activations``, ``manual_backprop``: the long runs of two Part II chapters
- ``gpt``: train a character-level GPT, and sample from it
- ``bpe``: train a BPE tokenizer, or encode with one
- ``progress``: the progress bars they share
"""

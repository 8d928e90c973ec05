"""The chapter "Backprop by hand" as exercises: starters with blanks to fill in.

Every blank is ``...``, Python's Ellipsis, so a starter runs as it is and the checker
(:func:`~gpt_from_scratch.makemore.manual_backprop.compare_gradients`) reports each
unfilled gradient as TODO. The solutions are the functions of
:mod:`~gpt_from_scratch.makemore.manual_backprop` with the same name, less ``_starter``.

>>> from gpt_from_scratch.makemore import manual_backprop as mb
>>> params = mb.init_params(vocab_size=5, n_embd=2, n_hidden=4, seed=0)
>>> X, Y = np.array([[0, 1, 2], [3, 4, 0], [1, 1, 1]]), np.array([1, 0, 4])
>>> _, cache = mb.forward(params, X, Y)
>>> mine = cross_entropy_backward_starter(cache["logits"], Y)
>>> checks = mb.compare_gradients({"logits": mine}, mb.autograd_gradients(params, X, Y))
>>> print(mb.report(checks))
logits          TODO
0 of 1 gradients match autograd; 1 still TODO
"""

from __future__ import annotations

import numpy as np

from gpt_from_scratch.makemore.manual_backprop import Arrays


def backward_starter(params: Arrays, s: Arrays, X: np.ndarray, Y: np.ndarray) -> Arrays:
    """Exercise 1: the gradient of every step of ``forward``, from the loss back to C.

    ``s`` holds the forward pass's steps, ``d[name]`` is d loss / d ``s[name]`` and has
    its shape; the comment beside each blank is the forward line it goes back through.
    """
    d = {}
    d["logprobs"] = ...  # loss = -logprobs[range(n), Y].mean()
    d["probs"] = ...  # logprobs = log(probs)
    d["counts_sum_inv"] = ...  # probs = counts * counts_sum_inv
    d["counts_sum"] = ...  # counts_sum_inv = counts_sum ** -1
    d["counts"] = ...  # used twice: in probs and in counts_sum = counts.sum(1)
    d["norm_logits"] = ...  # counts = exp(norm_logits)
    d["logit_maxes"] = ...  # norm_logits = logits - logit_maxes
    d["logits"] = ...  # used twice: in norm_logits and in logit_maxes = logits.max(1)
    d["h"] = ...  # logits = h @ W2 + b2
    d["W2"] = ...
    d["b2"] = ...
    d["hpreact"] = ...  # h = tanh(hpreact)
    d["bngain"] = ...  # hpreact = bngain * bnraw + bnbias
    d["bnbias"] = ...
    d["bnraw"] = ...
    d["bnvar_inv"] = ...  # bnraw = bndiff * bnvar_inv
    d["bnvar"] = ...  # bnvar_inv = (bnvar + EPS) ** -0.5
    d["bndiff2"] = ...  # bnvar = bndiff2.sum(0) / n
    d["bndiff"] = ...  # used twice: in bnraw and in bndiff2 = bndiff ** 2
    d["bnmean"] = ...  # bndiff = hprebn - bnmean
    d["hprebn"] = ...  # used twice: in bndiff and in bnmean = hprebn.sum(0) / n
    d["embcat"] = ...  # hprebn = embcat @ W1 + b1
    d["W1"] = ...
    d["b1"] = ...
    d["emb"] = ...  # embcat = emb.reshape(n, -1)
    d["C"] = ...  # emb = C[X]: mb.embedding_backward does it
    return d


def cross_entropy_backward_starter(logits: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Exercise 2: d loss / d logits in one expression, for loss = F.cross_entropy."""
    dlogits = ...  # (n, V), from logits and Y alone; n = len(Y)
    return dlogits


def batchnorm_backward_starter(
    dhpreact: np.ndarray, bnraw: np.ndarray, bnvar_inv: np.ndarray, bngain: np.ndarray
) -> np.ndarray:
    """Exercise 3: d loss / d hprebn in one expression (hpreact = batch norm of hprebn).

    ``dhpreact`` (n, H) is the gradient that reaches the output, ``bnraw`` (n, H) the
    normalized values, ``bnvar_inv`` (1, H) one over the standard deviation.
    """
    dhprebn = ...  # (n, H); n = len(dhpreact)
    return dhprebn


def backward_fused_starter(
    params: Arrays, s: Arrays, X: np.ndarray, Y: np.ndarray
) -> Arrays:
    """Exercise 4: every parameter's gradient with exercises 2 and 3, for the training
    loop (``train_manual(..., backward=backward_fused_starter)``)."""
    d = {}
    d["logits"] = ...  # exercise 2
    d["h"] = ...
    d["W2"] = ...
    d["b2"] = ...
    d["hpreact"] = ...
    d["bngain"] = ...
    d["bnbias"] = ...
    d["hprebn"] = ...  # exercise 3
    d["embcat"] = ...
    d["W1"] = ...
    d["b1"] = ...
    d["C"] = ...
    return d

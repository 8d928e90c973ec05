"""Part I: a scalar autograd engine (`engine`) and neural networks made of it (`nn`)."""

from gpt_from_scratch.micrograd.engine import Value, derivative, topological_order
from gpt_from_scratch.micrograd.nn import MLP, Layer, Module, Neuron

__all__ = ["MLP", "Layer", "Module", "Neuron", "Value", "derivative", "topological_order"]

"""qcnn: the q-CNN of Anagiannis & Cheng (2021), its tensor network and its entanglement.

Public names: ``QCNN`` (the model, §2) and ``entanglement_entropy`` (§3.2).
"""
from .entropy import entanglement_entropy
from .model import QCNN

__all__ = ["QCNN", "entanglement_entropy"]
__version__ = "0.1.0"

"""qcnn: the q-CNN of Anagiannis & Cheng (2021), its tensor network and its entanglement.

Public names: ``QCNN`` (the model, §2), ``entanglement_entropy`` (the top cut, §3.2) and the
entanglement across every cut (``qcnn.cuts``): ``subtree_entropies``, ``renyi2_entropy``,
``min_cut_bound`` and ``data_entropy``.
"""
from importlib.metadata import version

from .cuts import data_entropy, min_cut_bound, renyi2_entropy, subtree_entropies
from .entropy import entanglement_entropy
from .model import QCNN

__all__ = ["QCNN", "entanglement_entropy", "subtree_entropies", "renyi2_entropy",
           "min_cut_bound", "data_entropy"]
__version__ = version("qcnn")          # the one version number: pyproject.toml's

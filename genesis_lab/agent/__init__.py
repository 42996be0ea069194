"""The agent and its optimizer back-ends."""

from .agent import Agent
from .backends import BACKENDS, GPBackend, RandomBackend, SkoptBackend, make_backend
from .base import Backend, Capabilities, Observation, Proposal
from .space import Space

__all__ = [
    "Agent",
    "BACKENDS",
    "Backend",
    "Capabilities",
    "GPBackend",
    "Observation",
    "Proposal",
    "RandomBackend",
    "SkoptBackend",
    "Space",
    "make_backend",
]

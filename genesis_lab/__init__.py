"""Genesis Lab: a closed-loop controller for autonomous laboratories.

An agent proposes experiments with Bayesian optimization; bluesky plans run
them on ophyd devices (real instruments or simulated twins); the results feed
back to the agent until the campaign's budget or goal is reached. Every
decision and every raw reading is kept in the campaign's ledger.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]

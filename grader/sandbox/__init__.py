"""Running untrusted code: a warm zygote forks one jailed sandbox per code question.

The parent (:class:`SandboxPool`) sends the code and probe expressions, never the reference's
values; the sandbox sends back plain probe data; :mod:`.decode` checks it and :mod:`.compare`
decides. See docs/autograding.md for the layers, the limits and the threat model.
"""
from .client import SandboxPool, SandboxRun, parse_output
from .compare import compare_values
from .isolate import Limits

__all__ = ["SandboxPool", "SandboxRun", "Limits", "compare_values", "parse_output"]

"""Running untrusted code: a warm zygote forks one jailed child per code question.

The parent (:class:`SandboxPool`) sends the student's code and probe expressions, never the
reference or expected values; the child sends back plain probe data; :mod:`.compare` decides.
See docs/autograding.md for the layers and limits.
"""
from .client import SandboxPool, SandboxRun, parse_output
from .compare import compare_values
from .isolate import Limits

__all__ = ["SandboxPool", "SandboxRun", "Limits", "compare_values", "parse_output"]

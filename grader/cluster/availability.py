"""Import ``dask.distributed`` only when a cluster is asked for, with a message that says how to get it.

Dask is an optional extra (``pip install 'peft-course[cluster]'``): an instructor who grades on a
laptop installs nothing more, and no module of the grader imports Dask at load time.
"""
from __future__ import annotations

from types import ModuleType

from ..errors import UserError

EXTRA = "peft-course[cluster]"
INSTALL = f"pip install '{EXTRA}'"


def distributed() -> ModuleType:
    """The ``distributed`` module, or a UserError naming the extra to install."""
    try:
        import distributed as module
    except ImportError as exc:
        raise UserError(f"--cluster needs Dask's distributed scheduler, which is not installed here ({exc}); "
                        f"install it with `{INSTALL}` (the same on every worker)") from None
    return module

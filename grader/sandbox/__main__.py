"""``python -m grader.sandbox SOCKET_PATH``: run the warm zygote (started by :class:`SandboxPool`)."""
import sys

from .zygote import serve

serve(sys.argv[1])

"""``python -m grader.sandbox``: run the warm zygote (started by :class:`SandboxPool`).

The pool folder arrives as the first line on standard input, not in argv: every sandbox is a fork
of the zygote, and ``/proc/1/cmdline`` inside it shows the zygote's command line.
"""
import os

from .zygote import serve

line = b""
while not line.endswith(b"\n"):  # byte by byte: nothing after the line may be consumed (its EOF is the signal)
    byte = os.read(0, 1)
    if not byte:
        raise SystemExit("no pool folder on standard input")
    line += byte
serve(os.fsdecode(line[:-1]))

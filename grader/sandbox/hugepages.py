"""Back the zygote's private memory with huge pages, so that forking a sandbox is cheap.

Why: every sandbox is a fork of the zygote (its jail, :mod:`.spawn`), and after importing torch,
transformers and peft the zygote holds about 330 MB of private memory (Python objects and the
libraries' relocated data) in 4 KiB pages. ``fork`` copies one page-table entry per page and
``exit`` tears them down again: about 20 ms and 30 ms of kernel time per fork on the project's
2-core machine, most of a sandbox's cost. Collapsed into 2 MiB pages the same memory needs 512
times fewer entries; measured there, fork + exit + wait went from 53 ms to 15 ms.

Nothing about isolation changes: the pages are still copy-on-write in every child, a child's
write still copies (and charges to the sandbox's cgroup) a single 4 KiB page (the kernel splits
the huge mapping first), and the child's address-space limit is computed from its size as before.

``MADV_COLLAPSE`` (Linux 6.1 and later) works synchronously whatever the machine's THP setting
says; elsewhere the call fails with EINVAL and forks simply stay as they were. The zygote calls
:meth:`Collapser.step` only while no connection is waiting, so the work never delays a sandbox.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
from collections import deque

HUGE = 2 << 20
"""The huge-page size collapsed into (x86-64 and arm64 with 4 KiB base pages)."""
MADV_HUGEPAGE = 14
MADV_COLLAPSE = 25
GIVE_UP = 16
RETRIES = 3


def private_ranges(maps: str) -> list[tuple[int, int]]:
    """The 2 MiB-aligned parts of the anonymous read-write mappings (``[heap]`` and unnamed) in ``maps``
    (the text of ``/proc/self/maps``): where Python's objects and the libraries' allocations live."""
    found = []
    for line in maps.splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[1] != "rw-p" or (len(parts) > 5 and parts[5] != "[heap]"):
            continue
        low, high = (int(x, 16) for x in parts[0].split("-"))
        start, end = (low + HUGE - 1) & ~(HUGE - 1), high & ~(HUGE - 1)
        if end > start:
            found.append((start, end))
    return found


class Collapser:
    """Collapses the current private memory one huge page per :meth:`step` (a few milliseconds each)."""

    def __init__(self, ranges: list[tuple[int, int]]):
        self._libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        self._todo: deque[tuple[int, int]] = deque()
        for start, end in ranges:
            self._libc.madvise(start, end - start, MADV_HUGEPAGE)  # new faults there get huge pages too
            self._todo.extend((address, 0) for address in range(start, end, HUGE))
        self.collapsed = self.failed = 0

    @classmethod
    def for_this_process(cls) -> Collapser:
        with open("/proc/self/maps") as handle:
            return cls(private_ranges(handle.read()))

    @property
    def pending(self) -> bool:
        return bool(self._todo)

    def step(self) -> None:
        """Collapse the next huge page (some fail, e.g. a range not populated yet: they stay as they are);
        when the first :data:`GIVE_UP` all fail, the kernel lacks ``MADV_COLLAPSE`` and the rest are dropped.
        A page busy at the moment (EAGAIN: a sandbox forked a moment ago still shares it) is tried again later."""
        if not self._todo:
            return
        address, tries = self._todo.popleft()
        if self._libc.madvise(address, HUGE, MADV_COLLAPSE) == 0:
            self.collapsed += 1
            return
        self.failed += 1
        if ctypes.get_errno() == errno.EAGAIN and tries < RETRIES:
            self._todo.append((address, tries + 1))
        if self.failed >= GIVE_UP and not self.collapsed:
            self._todo.clear()

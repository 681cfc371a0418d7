"""A system-call filter for sandboxed code: the kernel interfaces grading never needs are refused.

The namespaces, the uid and the cgroup already decide what the code can *reach*; this filter takes
away kernel machinery it could otherwise still use (a seccomp-BPF program, installed by the
sandbox's PID 1 after ``no_new_privs`` and before the code runs; every process it forks inherits it):

* **keyrings** (``add_key``, ``keyctl``, ``request_key``): a uid's keyrings outlive its processes and
  the uids are handed out again run after run, so a key left by one student was there for whoever
  ran next with that uid: a channel between sandboxes and something left behind after the run;
* **new namespaces** (``unshare``, ``setns``, ``clone`` with a ``CLONE_NEW*`` flag, ``clone3``, whose
  flags a filter cannot read: it answers ENOSYS and the C library falls back to ``clone``) and
  **mounts** (``mount``, the new mount API, ``pivot_root``, ``chroot``): inside a user namespace of
  its own, code could mount a fresh tmpfs past its disk quota and reach much more of the kernel;
* **other processes' memory** (``ptrace``, ``process_vm_readv``/``writev``, ``pidfd_getfd``);
* **large kernel attack surface** that no probe needs: ``bpf``, ``perf_event_open``,
  ``userfaultfd``, ``io_uring``, ``kexec``, modules, ``open_by_handle_at``, ``fanotify``, ``syslog``.

Refused calls fail with EPERM, as a call the kernel does not allow would. The filter exists for
x86-64 and aarch64; elsewhere the layer is reported missing (it is not essential: the walls hold
without it, this narrows what the code can do inside them).
"""
from __future__ import annotations

import ctypes
import errno
import functools
import platform

from . import libc

_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
"""AUDIT_ARCH_* of each supported machine: a call made through another ABI is refused outright."""
_CLONE = {"x86_64": 56, "aarch64": 220}
_CLONE3 = 435
_X32_BIT = 0x40000000
_BLOCKED = {
    # name: (x86-64, aarch64); the calls numbered from 424 up are the same on every architecture
    "add_key": (248, 217), "request_key": (249, 218), "keyctl": (250, 219),
    "unshare": (272, 97), "setns": (308, 268),
    "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51),
    "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430), "fsconfig": (431, 431),
    "fsmount": (432, 432), "fspick": (433, 433), "mount_setattr": (442, 442),
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271), "pidfd_getfd": (438, 438),
    "bpf": (321, 280), "perf_event_open": (298, 241), "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "kexec_load": (246, 104), "kexec_file_load": (320, 294), "init_module": (175, 105),
    "finit_module": (313, 273), "delete_module": (176, 106), "reboot": (169, 142), "swapon": (167, 224),
    "swapoff": (168, 225), "acct": (163, 89), "quotactl": (179, 60), "syslog": (103, 116),
    "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264), "fanotify_init": (300, 262),
}
CLONE_NEW_FLAGS = (0x00000080 | libc.CLONE_NEWNS | libc.CLONE_NEWCGROUP | libc.CLONE_NEWUTS | libc.CLONE_NEWIPC
                   | libc.CLONE_NEWUSER | libc.CLONE_NEWPID | libc.CLONE_NEWNET)
"""Every ``CLONE_NEW*`` flag (0x80 is CLONE_NEWTIME)."""

# classic BPF, as seccomp runs it
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_RET_ALLOW, _RET_ERRNO, _RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
_NR, _ARCH_FIELD, _ARG0_LOW = 0, 4, 16  # offsets in struct seccomp_data (little-endian machines)
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Instruction))]


def program(machine: str) -> list[tuple[int, int, int, int]]:
    """The filter for ``machine`` as (code, jump if true, jump if false, k) instructions. KeyError if unsupported."""
    arch, column = _ARCH[machine], 0 if machine == "x86_64" else 1
    blocked = sorted({numbers[column] for numbers in _BLOCKED.values()})
    deny = (_RET, 0, 0, _RET_ERRNO | errno.EPERM)
    head = [(_LD_W_ABS, 0, 0, _ARCH_FIELD), (_JEQ, 1, 0, arch), (_RET, 0, 0, _RET_KILL_PROCESS), (_LD_W_ABS, 0, 0, _NR)]
    if machine == "x86_64":  # the x32 ABI reaches the same calls under other numbers
        head += [(_JGE, 0, 1, _X32_BIT), deny]
    # one test per blocked call; a match jumps to the shared "deny" at the end of the list
    tests = [(_JEQ, len(blocked) - i + 5, 0, nr) for i, nr in enumerate(blocked)]
    tail = [(_JEQ, 0, 2, _CLONE[machine]),           # clone: look at its flags
            (_LD_W_ABS, 0, 0, _ARG0_LOW),
            (_JSET, 3, 2, CLONE_NEW_FLAGS),          # a new namespace: deny; else allow
            (_JEQ, 0, 1, _CLONE3),                   # clone3: its flags are behind a pointer
            (_RET, 0, 0, _RET_ERRNO | errno.ENOSYS),
            (_RET, 0, 0, _RET_ALLOW),
            deny]
    return head + tests + tail


@functools.cache
def compiled() -> _Program | None:
    """The filter for this machine, ready for ``prctl`` (None where unsupported).

    Built once, in the zygote (:func:`.zygote._preload`), so that every sandbox inherits it instead of
    spending its own time on ctypes structures.
    """
    try:
        instructions = program(platform.machine())
    except KeyError:
        return None
    array = (_Instruction * len(instructions))(*[_Instruction(*ins) for ins in instructions])
    prog = _Program(len(instructions), array)
    prog._keep = array  # the program points into the array: keep it alive as long as the program
    return prog


def install() -> bool:
    """Install the filter on this process (and everything it forks from now on); True when it holds.

    Needs ``no_new_privs`` (or CAP_SYS_ADMIN) first; cannot be undone.
    """
    prog = compiled()
    if prog is None:
        return False
    try:
        libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog))
    except OSError:
        return False
    return True

"""How a jail gets forked: the supervisor sends the zygote a small order with the jail's pipes, never the request.

Why this shape: the zygote must never read a request (every later fork would find it in its memory),
and the trusted process that reads requests and watches the deadline had been a fork of the zygote's
hundreds of megabytes, forked and torn down again for every sandbox, besides the jail: about a third of
a sandbox's cost. Now that process is the small :mod:`.supervisor`, and per sandbox it sends the zygote
an :class:`Order`: the jail's uid and fallback work folder, and the ends of its pipes as file
descriptors (``SCM_RIGHTS``). The zygote forks the jail, closes its own copies of the pipes and
answers with the jail's pid on a channel of that sandbox's own. The request travels from the
supervisor to the jail on the "go" pipe, past the zygote, once the jail is in its cgroup.

The zygote keeps the jail unreaped until its supervisor has killed what it must and asks for the
exit status (``reap``): until then the jail's pid cannot be reused, so a kill by pid never reaches
another process. When the channel closes without ``reap`` (the supervisor's thread or the whole
supervisor died), the zygote kills the jail itself: no jail outlives whoever watches its deadline.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import NoReturn

from . import libc
from .identity import Identity

ORDER_BYTES = 4096
"""An order or an answer is a few dozen bytes of JSON; anything longer is refused."""
REAP = b"reap"


@dataclass(frozen=True)
class Order:
    """What the zygote needs to start one jail: no code, no probes, no values (the jail reads those itself)."""

    uid: int | None
    gid: int | None
    shared: bool
    fallback: str
    """The jail's fallback work folder (when no private tmpfs can be made), created by the supervisor."""
    capture: bool
    """Whether a pipe for what the code prints comes with the order."""

    def identity(self) -> Identity | None:
        return None if self.uid is None or self.gid is None else Identity(self.uid, self.gid, shared=self.shared)


@dataclass(frozen=True)
class JailFds:
    """The jail's ends of its pipes: ``go`` (the go byte, then the request), ``pid`` (its PID 1's host pid when
    it must fork one), ``out`` (the records), ``capture`` (what the code prints, or None)."""

    go: int
    pid: int
    out: int
    capture: int | None


def _decode(raw: bytes) -> dict:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class Jail:
    """The supervisor's handle on one forked jail (its pid stays reserved until :meth:`reap`)."""

    def __init__(self, pid: int, channel: socket.socket):
        self.pid = pid
        self._channel: socket.socket | None = channel

    def reap(self) -> int:
        """Let the zygote wait for the jail (kill it first); return its wait status."""
        channel, self._channel = self._channel, None
        if channel is None:
            raise ConnectionError("the jail was reaped already")
        with channel:
            channel.sendall(REAP)
            status = _decode(channel.recv(ORDER_BYTES)).get("status")
        if not isinstance(status, int):
            raise ConnectionError("the zygote did not report the sandbox's exit status")
        return status

    def close(self) -> None:
        """Give the jail up without its status: the zygote kills and reaps it. Idempotent."""
        channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()


class Zygote:
    """The supervisor's side of the control socket; thread-safe (one order per sandbox)."""

    def __init__(self, control: socket.socket):
        self._control = control
        self._lock = threading.Lock()

    def fork(self, order: Order, fds: JailFds) -> Jail:
        """Have the zygote fork a jail with these pipe ends. The caller closes its copies afterwards. Raises OSError."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            passed = [theirs.fileno(), fds.go, fds.pid, fds.out] + ([fds.capture] if fds.capture is not None else [])
            with self._lock:
                socket.send_fds(self._control, [json.dumps(asdict(order)).encode()], passed)
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        try:
            reply = _decode(mine.recv(ORDER_BYTES))
        except BaseException:
            mine.close()
            raise
        if not isinstance(reply.get("pid"), int):
            mine.close()
            raise OSError(str(reply.get("error", "the zygote closed the connection"))[:200])
        return Jail(reply["pid"], mine)


StartJail = Callable[[Order, JailFds, bool], NoReturn]
"""Runs in the forked child: (order, its pipe ends, whether it is PID 1 of a new PID namespace already)."""


class _Child:
    def __init__(self, pid: int, channel: socket.socket, pidfd: int | None):
        self.pid, self.channel, self.pidfd = pid, channel, pidfd


class Nursery:
    """The zygote's side: fork a jail per order, keep it unreaped until its supervisor asks, reap orphans.

    Its file descriptors are registered in the zygote's selector with a callback as ``data``.
    """

    def __init__(self, selector: selectors.BaseSelector, start: StartJail, *, keep_out: Callable[[], list[int]]):
        self._selector = selector
        self._start = start
        self._keep_out = keep_out
        """The zygote's own descriptors a jail closes at once (the control socket, the selector)."""
        self._children: dict[int, _Child] = {}
        self._own_pid_namespace = self._open_pid_namespace()

    @staticmethod
    def _open_pid_namespace() -> int | None:
        """As root: our PID namespace, to return to after each jail is born in a new one."""
        if os.geteuid() != 0:
            return None  # a user namespace must come first: the jail makes both, then forks its PID 1
        try:
            return os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None

    def take_order(self, control: socket.socket) -> bool:
        """Read one order and fork its jail; False when the supervisor is gone (the control socket closed)."""
        try:
            message, fds, _, _ = socket.recv_fds(control, ORDER_BYTES, 5)
        except OSError:
            return False
        if not message:
            for fd in fds:
                os.close(fd)
            return False
        if not fds:
            return True
        channel = socket.socket(fileno=fds[0])
        try:
            order = Order(**_decode(message))
            jail_fds = JailFds(fds[1], fds[2], fds[3], fds[4] if order.capture and len(fds) > 4 else None)
            pid = self._fork(order, jail_fds, channel)
        except (OSError, TypeError, ValueError) as exc:  # a malformed order or a failed fork: the supervisor reports it
            self._answer(channel, {"error": f"{type(exc).__name__}: {exc}"})
            channel.close()
            return True
        finally:
            for fd in fds[1:]:
                os.close(fd)
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None
        self._children[pid] = _Child(pid, channel, pidfd)
        self._selector.register(channel, selectors.EVENT_READ, lambda: self._asked(pid))
        self._answer(channel, {"pid": pid})
        return True

    def _fork(self, order: Order, fds: JailFds, channel: socket.socket) -> int:
        """Fork the jail, as PID 1 of a new PID namespace where we may (saves the jail a fork of this big process)."""
        in_pid_namespace = False
        if self._own_pid_namespace is not None:
            try:
                libc.unshare(libc.CLONE_NEWPID)
                in_pid_namespace = True
            except OSError:
                pass
        try:
            pid = os.fork()
        except BaseException:
            if in_pid_namespace:
                libc.setns(self._own_pid_namespace, libc.CLONE_NEWPID)
            raise
        if pid == 0:
            try:
                self._in_child()
                channel.close()  # the zygote's end of our own channel too
                self._start(order, fds, in_pid_namespace)
            finally:
                os._exit(70)  # never back into the zygote's loop
        if in_pid_namespace:  # our later threads and forks belong to our own namespace again
            libc.setns(self._own_pid_namespace, libc.CLONE_NEWPID)
        return pid

    def _in_child(self) -> None:
        """In the new jail: let go of the zygote's descriptors (other sandboxes' channels included)."""
        for fd in [*self._keep_out(), self._own_pid_namespace]:
            if fd is not None and fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        for child in self._children.values():
            child.channel.close()
            if child.pidfd is not None:
                os.close(child.pidfd)

    @staticmethod
    def _answer(channel: socket.socket, reply: dict) -> None:
        try:
            channel.send(json.dumps(reply).encode())
        except OSError:
            pass

    def _asked(self, pid: int) -> None:
        """The supervisor asked for the status (or went away: then the jail is killed first)."""
        child = self._children[pid]
        try:
            asked = child.channel.recv(ORDER_BYTES)
        except OSError:
            asked = b""
        self._selector.unregister(child.channel)
        if asked != REAP:
            self._kill(child)
        if child.pidfd is None:
            self._reap(pid)
        else:
            self._selector.register(child.pidfd, selectors.EVENT_READ, lambda: self._reap(pid))

    @staticmethod
    def _kill(child: _Child) -> None:
        try:
            if child.pidfd is not None:
                signal.pidfd_send_signal(child.pidfd, signal.SIGKILL)
            else:
                os.kill(child.pid, signal.SIGKILL)
        except OSError:
            pass

    def _reap(self, pid: int) -> None:
        child = self._children.pop(pid)
        if child.pidfd is not None:
            self._selector.unregister(child.pidfd)
            os.close(child.pidfd)
        _, status = os.waitpid(pid, 0)
        self._answer(child.channel, {"status": status})
        child.channel.close()

    def reap_orphans(self) -> None:
        """Reap exited children that are not jails (a jail's PID 1 left behind when the jail was killed first).

        ``WNOWAIT`` looks without reaping: a jail that exited is left for its supervisor's ``reap``.
        """
        while True:
            try:
                found = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if found is None or found.si_pid in self._children:
                return
            try:
                os.waitpid(found.si_pid, 0)
            except ChildProcessError:
                return

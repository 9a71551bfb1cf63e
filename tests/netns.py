"""Test hosts on a network of their own: two network namespaces joined by a veth pair,
made with iproute2's `ip` (the suite runs as root, as CI does), so a test can have a peer
that is not on loopback without a packet leaving the machine.

A socket stays in the network namespace its thread was in when it was made, so a test
makes a server's or a client's socket inside a host (`inside`, in a worker thread) and
uses it from anywhere. The namespaces, and with them the veth pair, are deleted after.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

CLONE_NEWNET = 0x40000000  # setns(2): join a network namespace
SUBNET = "10.231.0"  # lives only inside the two namespaces, so any free range would do
_libc = ctypes.CDLL(None, use_errno=True)  # os.setns arrives with Python 3.12


@dataclass(frozen=True)
class Host:
    namespace: str
    address: str


@contextlib.contextmanager
def two_hosts() -> Iterator[tuple[Host, Host]]:
    """Two hosts, .1 and .2 on one /24, each alone in its namespace; removed after."""
    tag = f"{os.getpid():x}{secrets.token_hex(2)}"  # unique among concurrent runs
    first = Host(f"vr-{tag}-1", f"{SUBNET}.1")
    second = Host(f"vr-{tag}-2", f"{SUBNET}.2")
    try:
        _ip("netns", "add", first.namespace)
        _ip("netns", "add", second.namespace)
        _ip("link", "add", f"vr{tag}a", "netns", first.namespace,
            "type", "veth", "peer", "name", f"vr{tag}b", "netns", second.namespace)  # fmt: skip
        for host, device in ((first, f"vr{tag}a"), (second, f"vr{tag}b")):
            _ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", device)
            _ip("-n", host.namespace, "link", "set", device, "up")
        yield first, second
    finally:
        for host in (first, second):
            subprocess.run([_ip_path(), "netns", "delete", host.namespace], capture_output=True)


@contextlib.contextmanager
def inside(host: Host) -> Iterator[None]:
    """This thread in `host`'s network namespace; sockets made here stay in it. Only ever
    from a thread of its own (`asyncio.to_thread`), never the event loop's."""
    with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{host.namespace}") as ns:
        _setns(ns.fileno())
        try:
            yield
        finally:
            _setns(home.fileno())


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


def _ip_path() -> str:
    """`ip`, also where root's PATH may leave it out (sbin)."""
    found = shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")
    if found is None:
        pytest.fail("iproute2's `ip` is needed (apt-get install -y iproute2)")
    return found


def _ip(*args: str) -> None:
    done = subprocess.run([_ip_path(), *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")

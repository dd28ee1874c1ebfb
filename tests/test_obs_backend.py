"""Debian's OBS backend under releasetool's supervisor: loopback only, stopped whole, restarted with its state."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from releasetool.obs.service.backend import Backend

pytestmark = pytest.mark.slow

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def process_groups() -> dict[int, int]:
    """pid → process group of every live process on the machine (zombies are dead: left out)."""
    groups = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":
            groups[int(entry.name)] = int(fields[2])
    return groups


def listeners_of(groups: set[int]) -> list[tuple[str, int, int]]:
    """(address, port, pid) of every listening TCP socket held by a process of ``groups``."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    pgid = process_groups()
    found = []
    for line in out.splitlines():
        cols = line.split()
        local = cols[3]
        address, _, port = local.rpartition(":")
        for pid_text in re.findall(r"pid=(\d+)", line):
            pid = int(pid_text)
            if pgid.get(pid) in groups:
                found.append((address.strip("[]"), int(port), pid))
    return found


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    started = Backend(tmp_path / "obs")
    started.start()
    try:
        yield started
    finally:
        started.stop()


def test_every_listener_is_on_loopback_and_stop_leaves_no_process(backend: Backend) -> None:
    groups = set(backend.running().values())
    assert set(backend.running()) == {"bs_srcserver", "bs_repserver", "bs_sched", "bs_dispatch", "bs_publish",
                                      "bs_worker"}
    found = listeners_of(groups)
    ports = {port for _, port, _ in found}
    # the source server, the repository server and the worker's own port
    assert {backend.ports["srcserver"], backend.ports["repserver"], backend.ports["worker"]} <= ports
    assert [f for f in found if f[0] != "127.0.0.1"] == []
    with DIRECT.open(f"{backend.srcserver}/source", timeout=10) as answer:
        assert answer.read().startswith(b"<directory")

    backend.stop()
    left = [pid for pid, group in process_groups().items() if group in groups]
    assert left == []
    assert listeners_of(groups) == []


def test_restart_keeps_projects_and_addresses(tmp_path: Path) -> None:
    root = tmp_path / "obs"
    first = Backend(root)
    first.start()
    try:
        meta = (b'<project name="rt:kept"><title>kept</title><description/>'
                b'<repository name="standard"><arch>x86_64</arch></repository></project>')
        put = urllib.request.Request(f"{first.srcserver}/source/rt:kept/_meta?user=Admin", data=meta, method="PUT")
        with DIRECT.open(put, timeout=10) as answer:
            assert answer.status == 200
        ports = dict(first.ports)
    finally:
        first.stop()
    second = Backend(root)
    second.start()
    try:
        assert second.ports == ports
        with DIRECT.open(f"{second.srcserver}/source/rt:kept/_meta", timeout=10) as answer:
            assert b'name="rt:kept"' in answer.read()
        with DIRECT.open(f"{second.srcserver}/source", timeout=10) as answer:
            assert b'<entry name="rt:kept"' in answer.read()
    finally:
        second.stop()


def test_a_daemon_that_dies_is_started_again(backend: Backend) -> None:
    old = backend.running()["bs_publish"]
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while backend.running().get("bs_publish", old) == old:
        assert time.monotonic() < deadline, "bs_publish was not started again"
        time.sleep(0.2)
    new = backend.running()["bs_publish"]
    assert new != old
    assert old not in process_groups()

"""Debian's Open Build Service backend, started and supervised in a state directory of its own.

Debian 12 packages the OBS backend 2.9.4 (``obs-server``, ``obs-worker``,
``obs-build``); its Rails frontend is not packaged, and releasetool's service
plays that part.  This module runs the backend's daemons from
``/usr/lib/obs/server``: the source server, the repository server, the
scheduler for the host architecture, the dispatcher, the publisher and one
chroot worker.

Everything they keep lives under ``ROOT/backend`` (``srv`` is OBS's
``$bsdir``, with ``run`` and ``log`` beside it), so the machine's own
``/etc/obs/BSConfig.pm`` and ``/srv/obs`` are never used.  Two things are
preloaded into each daemon's perl, before the daemon's own code compiles:

- our ``BSConfig.pm`` (``-I CONF -MBSConfig``): once perl has loaded a module,
  the daemon's ``use BSConfig`` finds it in ``%INC`` and does not look in its
  own directory, where Debian's configuration is;
- ``ReleasetoolLoopback.pm``: OBS 2.9.4's servers bind ``INADDR_ANY`` and have
  no setting for the address.  The module replaces ``Socket::INADDR_ANY`` with
  127.0.0.1 before ``BSServer`` imports it, so every listening socket of the
  backend (the worker's too) is on the loopback address only.

The daemons run as the user that starts them, root (the worker needs it to
mount and chroot): OBS's own ``obsrun`` user could not reach a state directory
under a private parent such as a 0700 temporary directory.  Each daemon
is started as the leader of its own process group, so stopping it reaches the
processes it forks (one per request, the AJAX helper, a build).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from releasetool.errors import ObsError
from releasetool.fsutil import atomic_write
from releasetool.log import log

SERVER_DIR = Path("/usr/lib/obs/server")
# The packages that bring the daemons, the worker and the build script.
PACKAGES = "obs-server obs-worker obs-build"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
# A daemon that dies is started again, but not more often than this.
RESTARTS_PER_MINUTE = 5

# uname's machine names as OBS names architectures.
OBS_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64",
            "i686": "i586", "i586": "i586", "ppc64le": "ppc64le", "s390x": "s390x",
            "riscv64": "riscv64", "armv7l": "armv7l"}

LOOPBACK_MODULE = """\
# Preloaded into every OBS daemon of releasetool's backend: OBS 2.9.4 binds
# its servers to INADDR_ANY with no setting for the address.  Replacing the
# constant before BSServer imports it keeps every listener on 127.0.0.1.
package ReleasetoolLoopback;
use Socket ();
BEGIN {
  no warnings 'redefine';
  *Socket::INADDR_ANY = sub () { Socket::inet_aton('127.0.0.1') };
}
1;
"""


def host_arch() -> str:
    """The host's architecture as OBS names it (x86_64, aarch64, ...)."""
    machine = platform.machine()
    return OBS_ARCH.get(machine, machine)


def _perl_string(value: str) -> str:
    """A single-quoted perl string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def bsconfig(*, bsdir: Path, rundir: Path, logdir: Path, srcserver: str, reposerver: str,
             arch: str, bsuser: str | None) -> str:
    """The text of the BSConfig.pm the daemons read (OBS's configuration is a perl module)."""
    user = _perl_string(bsuser) if bsuser else "undef"
    return f"""\
# Written by releasetool for its OBS backend; rewritten on every start.
package BSConfig;

# Only this machine may talk to the backend; the pattern is anchored at both
# ends by OBS, hence the '.*'.  'worker' lets the worker register and
# deliver its builds; it is not implied by 'rw'.
our $ipaccess = {{ '127\\..*' => 'rw,worker' }};

our $srcserver = {_perl_string(srcserver)};
our $reposerver = {_perl_string(reposerver)};
# No source service server runs: the source server must not wait for one.
our $servicedispatch = 0;
our $sign_project = 0;

our $bsdir = {_perl_string(str(bsdir))};
our $rundir = {_perl_string(str(rundir))};
our $logdir = {_perl_string(str(logdir))};
our $bsuser = {user};
our $bsgroup = {user};
our $localarch = {_perl_string(arch)};
our $nosharedtrees = 2;
our $packtrack = [];

1;
"""


@dataclass
class Daemon:
    """One supervised daemon: what it runs and, while running, its process."""

    name: str
    argv: list[str]
    is_worker: bool = False
    process: subprocess.Popen[bytes] | None = None
    starts: list[float] = field(default_factory=list)


class Backend:
    """The OBS backend of one state directory: configure, start, watch, stop."""

    def __init__(self, root: str | os.PathLike[str], *, arch: str | None = None) -> None:
        self.root = Path(root).absolute()
        self.home = self.root / "backend"
        self.conf = self.home / "conf"
        self.bsdir = self.home / "srv"
        self.rundir = self.home / "run"
        self.logdir = self.home / "log"
        self.worker_state = self.home / "worker" / "state"
        self.worker_root = self.home / "worker" / "root"
        self.arch = arch or host_arch()
        self.ports: dict[str, int] = {}
        self.daemons: list[Daemon] = []
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- addresses -----------------------------------------------------------
    @property
    def srcserver(self) -> str:
        return f"http://127.0.0.1:{self.ports['srcserver']}"

    @property
    def reposerver(self) -> str:
        return f"http://127.0.0.1:{self.ports['repserver']}"

    # -- checks --------------------------------------------------------------
    def check(self) -> None:
        """Every reason the backend cannot start, raised before anything is written."""
        missing = [name for name in ("bs_srcserver", "bs_repserver", "bs_sched", "bs_dispatch", "bs_publish",
                                     "bs_worker") if not (SERVER_DIR / name).exists()]
        if missing or not Path("/usr/lib/obs-build/build").exists():
            raise ObsError(f"the OBS backend is not installed ({', '.join(missing) or 'obs-build'} missing)",
                           hint=f"install it with `apt-get install {PACKAGES}` or run `make setup`")
        if os.geteuid() != 0:
            raise ObsError("the OBS backend needs root: its worker builds in a chroot it mounts",
                           hint="run `releasetool obs serve` as root")

    # -- start ---------------------------------------------------------------
    def start(self, *, timeout: float = START_TIMEOUT) -> None:
        """Write the configuration, start every daemon and wait until they answer.

        State already under the root (projects, sources, builds) is kept: a
        restart continues where the last run stopped.
        """
        self.check()
        self._stop_leftovers()
        self._prepare()
        self.daemons = self._daemon_table()
        started = time.monotonic()
        try:
            # The servers first: the scheduler asks the source server for every
            # project once at start (and waits a minute when it is not there
            # yet), and the worker registers with the repository server once.
            servers, others = self.daemons[:2], self.daemons[2:]
            for daemon in servers:
                self._spawn(daemon)
            self._wait_healthy(started + timeout, worker=False)
            for daemon in others:
                self._spawn(daemon)
            self._wait_healthy(started + timeout, worker=True)
        except BaseException:
            self.stop()
            raise
        log.info("obs backend: up in %.1f s (source server %s, repository server %s, %s)",
                 time.monotonic() - started, self.srcserver, self.reposerver, self.arch)
        self._stopping.clear()
        self._watcher = threading.Thread(target=self._watch, name="obs-backend-watch", daemon=True)
        self._watcher.start()

    def _prepare(self) -> None:
        for path in (self.conf, self.bsdir, self.rundir, self.logdir, self.worker_state, self.worker_root):
            path.mkdir(parents=True, exist_ok=True)
        self.ports = self._choose_ports()
        atomic_write(self.conf / "BSConfig.pm",
                     bsconfig(bsdir=self.bsdir, rundir=self.rundir, logdir=self.logdir, srcserver=self.srcserver,
                              reposerver=self.reposerver, arch=self.arch, bsuser=None))
        atomic_write(self.conf / "ReleasetoolLoopback.pm", LOOPBACK_MODULE)

    def _choose_ports(self) -> dict[str, int]:
        """The ports of the last run when they are still free, so that a restart keeps its addresses."""
        saved_path = self.home / "ports.json"
        try:
            saved = {k: int(v) for k, v in json.loads(saved_path.read_text()).items()}
        except (FileNotFoundError, ValueError, AttributeError):
            saved = {}
        ports: dict[str, int] = {}
        for name in ("srcserver", "repserver", "worker"):
            port = saved.get(name)
            if port is None or not _port_free(port):
                port = _free_port(exclude=set(ports.values()))
            ports[name] = port
        if ports != saved:
            atomic_write(saved_path, json.dumps(ports))
        return ports

    def _daemon_table(self) -> list[Daemon]:
        perl = ["perl", "-I", str(self.conf), "-MBSConfig", "-MReleasetoolLoopback"]

        def server(script: str, *args: str) -> list[str]:
            return [*perl, str(SERVER_DIR / script), *args]

        return [
            Daemon("bs_srcserver", server("bs_srcserver")),
            Daemon("bs_repserver", server("bs_repserver")),
            Daemon("bs_sched", server("bs_sched", self.arch)),
            Daemon("bs_dispatch", server("bs_dispatch")),
            Daemon("bs_publish", server("bs_publish")),
            # --noworkerupdate: a worker that updates its own code re-executes
            # itself without the modules preloaded above.
            Daemon("bs_worker", server(
                "bs_worker", "--root", str(self.worker_root), "--statedir", str(self.worker_state),
                "--port", str(self.ports["worker"]), "--arch", self.arch, "--id", f"releasetool:{self.arch}:1",
                "--srcserver", self.srcserver, "--reposerver", self.reposerver, "--noworkerupdate"),
                is_worker=True),
        ]

    def _spawn(self, daemon: Daemon) -> None:
        logfile = open(self.logdir / f"{daemon.name}.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            daemon.process = subprocess.Popen(
                daemon.argv, stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT,
                cwd=self.worker_state if daemon.is_worker else self.bsdir,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": str(self.home)},
                # Its own process group: its forks are stopped with it, and
                # the daemon's own setsid() fails harmlessly (it is a leader).
                start_new_session=True)
        finally:
            logfile.close()
        daemon.starts.append(time.monotonic())
        log.debug("obs backend: started %s (pid %d)", daemon.name, daemon.process.pid)

    # A service killed with SIGKILL cannot stop its daemons: each is in a
    # session of its own and outlives it, still holding the state directory,
    # its locks and the ports.  The next start stops them first: they are the
    # processes whose command line names this root's configuration directory
    # (``perl -I ROOT/backend/conf``), which no other program's does.
    def _stop_leftovers(self) -> None:
        conf = str(self.conf).encode()
        groups = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                if conf in argv:
                    groups.add(os.getpgid(int(entry.name)))
            except (OSError, ValueError):
                continue
        groups.discard(os.getpgrp())
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        deadline = time.monotonic() + STOP_TIMEOUT
        while groups and time.monotonic() < deadline and any(_group_alive(g) for g in groups):
            time.sleep(0.1)
        if groups:
            log.info("obs backend: stopped %d daemons a killed run of %s left", len(groups), self.root)
        self._unmount_builds()

    def _wait_healthy(self, deadline: float, *, worker: bool) -> None:
        """Both servers answer and, with ``worker``, the worker has registered with the repository server."""
        pending = {"source server": f"{self.srcserver}/source", "repository server": f"{self.reposerver}/"}
        while pending or (worker and not self._worker_registered()):
            for daemon in self.daemons:
                if daemon.process is not None and daemon.process.poll() is not None:
                    raise ObsError(f"OBS backend: {daemon.name} exited with status {daemon.process.returncode} "
                                   "while starting", hint=f"see {self.logdir / (daemon.name + '.log')}")
            for what, url in list(pending.items()):
                if _answers(url):
                    del pending[what]
            if time.monotonic() > deadline:
                waiting = ", ".join(pending) or "the worker's registration"
                raise ObsError(f"OBS backend: no answer from {waiting} after {START_TIMEOUT:.0f} s",
                               hint=f"see the logs in {self.logdir}")
            time.sleep(0.1 if pending else 0.3)

    def _worker_registered(self) -> bool:
        try:
            with _DIRECT.open(f"{self.reposerver}/workerstatus", timeout=5) as answer:
                body: bytes = answer.read()
        except (OSError, urllib.error.URLError):
            return False
        import xml.etree.ElementTree as ET

        try:
            status = ET.fromstring(body)
        except ET.ParseError:
            return False
        # <workerstatus><idle uri="http://127.0.0.1:PORT" workerid=".." hostarch=".."/>...
        return any(idle.get("uri", "").endswith(f":{self.ports['worker']}") for idle in status.iter("idle"))

    # -- supervision ---------------------------------------------------------
    def _watch(self) -> None:
        """Start again a daemon that died, unless it keeps dying."""
        while not self._stopping.wait(1.0):
            with self._lock:
                for daemon in self.daemons:
                    process = daemon.process
                    if process is None or process.poll() is None:
                        continue
                    recent = [t for t in daemon.starts if t > time.monotonic() - 60]
                    if len(recent) >= RESTARTS_PER_MINUTE:
                        if daemon.starts:
                            log.error("obs backend: %s keeps exiting (status %s); not started again, see %s",
                                      daemon.name, process.returncode, self.logdir / f"{daemon.name}.log")
                            daemon.starts = []
                        continue
                    log.warning("obs backend: %s exited with status %s; starting it again",
                                daemon.name, process.returncode)
                    self._stop_group(daemon)
                    self._spawn(daemon)

    def running(self) -> dict[str, int]:
        """Name → pid of every daemon now running."""
        return {d.name: d.process.pid for d in self.daemons if d.process is not None and d.process.poll() is None}

    # -- stop ----------------------------------------------------------------
    def stop(self, *, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every daemon and everything it started; unmount what a build left mounted."""
        self._stopping.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join()
        with self._lock:
            for daemon in self.daemons:
                _signal_group(daemon, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for daemon in self.daemons:
                if daemon.process is None:
                    continue
                with contextlib.suppress(subprocess.TimeoutExpired):
                    daemon.process.wait(max(0.1, deadline - time.monotonic()))
            for daemon in self.daemons:
                self._stop_group(daemon)
        self._unmount_builds()
        log.debug("obs backend: stopped")

    def _stop_group(self, daemon: Daemon) -> None:
        """Kill what is left of a daemon's process group, reap the daemon, wait for the rest to be gone."""
        _signal_group(daemon, signal.SIGKILL)
        if daemon.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.process.wait(5)
            # a killed process of the group that is not our child (a build's helper, a process
            # sleeping in the kernel) dies on its own time: stop returns when none is left
            deadline = time.monotonic() + 10
            while _live_members(daemon.process.pid) and time.monotonic() < deadline:
                time.sleep(0.05)

    def _unmount_builds(self) -> None:
        """A build killed in its chroot leaves /proc, /sys, /dev/pts mounted under the worker root."""
        try:
            mounts = Path("/proc/self/mounts").read_text().splitlines()
        except OSError:
            return
        prefix = str(self.worker_root) + "/"
        points = [line.split()[1].encode().decode("unicode_escape") for line in mounts if len(line.split()) > 1]
        for point in sorted((p for p in points if p.startswith(prefix) or p == str(self.worker_root)),
                            key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _live_members(group: int) -> list[int]:
    """The processes of a process group that are still alive (zombies are dead, only not yet reaped)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # state ppid pgrp ... after "pid (comm) "
        if fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(entry.name))
    return members


def _signal_group(daemon: Daemon, signum: int) -> None:
    if daemon.process is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(daemon.process.pid, signum)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(exclude: set[int]) -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port not in exclude:
            return port


# The backend is on 127.0.0.1: never through a proxy from the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=5) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False

"""A monolithic upstream tree shaped like the 2008 Red Hat cluster tree.

The demo needs a history to split that has what real monolithic trees have:
several components in subdirectories (``fence/agents``, ``dlm``, ``gfs2``
beside ``cman`` and ``rgmanager`` that stay behind), topic branches merged
back with merge commits, a few hundred commits by several people over two
years, and annotated release tags of the whole tree (``cluster-2.0.0``...).

Each component is small but real: a Makefile with ``install`` honouring
``DESTDIR``, a C program or shell scripts, a man page, a README and a COPYING
file, so that its packaging can be built with rpmbuild and dpkg-buildpackage.

The history is written with one ``git fast-import`` stream and is the same,
commit id for commit id, on every machine (fixed identities, dates and
contents; no randomness).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from releasetool import proc

AUTHORS = (
    ("Ada Fencer", "ada@cluster.example"),
    ("Bo Lockman", "bo@cluster.example"),
    ("Cy Journal", "cy@cluster.example"),
    ("Di Quorum", "di@cluster.example"),
    ("Ed Membership", "ed@cluster.example"),
)
START = dt.datetime(2006, 9, 4, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
BRANCH = "master"

# Tree-wide release tags and the commit number (1-based) each one points at.
RELEASES = (("2.0.0", 120), ("2.0.1", 200), ("2.99.0", 240), ("3.0.0", 270))

GPL = "This program is free software; you can redistribute it and/or modify it under the terms of\n" \
      "the GNU General Public License as published by the Free Software Foundation; either\n" \
      "version 2 of the License, or (at your option) any later version.\n"
LGPL = "This library is free software; you can redistribute it and/or modify it under the terms of\n" \
       "the GNU Lesser General Public License as published by the Free Software Foundation; either\n" \
       "version 2.1 of the License, or (at your option) any later version.\n"


@dataclass(frozen=True)
class DemoComponent:
    """One component of the monolithic tree and what the demo releases of it."""

    name: str
    path: str
    summary: str
    version: str  # the version the demo's release train cuts


COMPONENTS = (
    DemoComponent("fence-agents", "fence/agents", "Fence agents for cluster nodes", "3.0.1"),
    DemoComponent("dlm", "dlm", "Distributed lock manager control daemon", "3.0.1"),
    DemoComponent("gfs2-utils", "gfs2", "Utilities for the GFS2 cluster file system", "3.0.1"),
)
STAYING = ("cman", "rgmanager")


def _c_program(name: str, what: str) -> str:
    return (
        "#include <stdio.h>\n#include <string.h>\n#include \"version.h\"\n\n"
        "int main(int argc, char **argv)\n{\n"
        "\tif (argc > 1 && strcmp(argv[1], \"--version\") == 0) {\n"
        f"\t\tprintf(\"{name} %s\\n\", RELEASE_VERSION);\n\t\treturn 0;\n\t}}\n"
        f"\tprintf(\"{name}: {what}\\n\");\n\treturn 0;\n}}\n"
    )


def _makefile(programs: list[str], scripts: list[str], man: list[str], sbindir: str = "/usr/sbin") -> str:
    lines = [
        "# Build and install; DESTDIR and PREFIX are honoured.",
        "PREFIX ?= /usr",
        "SBINDIR ?= $(PREFIX)/sbin" if sbindir == "/usr/sbin" else f"SBINDIR ?= {sbindir}",
        "MANDIR ?= $(PREFIX)/share/man",
        "CFLAGS ?= -O2 -g",
        "",
        f"all: {' '.join(programs)}",
        "",
    ]
    for prog in programs:
        lines += [f"{prog}: {prog}.c version.h", f"\t$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ {prog}.c", ""]
    lines += ["install: all", "\tinstall -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8"]
    for item in programs + scripts:
        lines.append(f"\tinstall -m 0755 {item} $(DESTDIR)$(SBINDIR)/{item}")
    for page in man:
        lines.append(f"\tinstall -m 0644 {page} $(DESTDIR)$(MANDIR)/man8/{page}")
    lines += ["", "check: all"]
    for prog in programs:
        lines.append(f"\t./{prog} --version")
    lines += ["", "clean:", f"\trm -f {' '.join(programs)}", "", ".PHONY: all install check clean", ""]
    return "\n".join(lines)


def _man(name: str, what: str) -> str:
    return f".TH {name.upper()} 8 \"2008\" \"cluster\"\n.SH NAME\n{name} \\- {what}\n.SH SYNOPSIS\n" \
           f".B {name}\n[\\-\\-version]\n.SH DESCRIPTION\n{what}.\n"


def _fence_script(name: str, device: str) -> str:
    return (
        "#!/bin/sh\n"
        f"# {name}: fence a node through its {device}.\n"
        "# Reads name=value options on standard input, as every fence agent does.\n"
        "action=reboot\n"
        "while IFS='=' read -r key value; do\n"
        "  case \"$key\" in action|option) action=$value ;; esac\n"
        "done\n"
        f"echo \"{name}: $action done through {device}\"\n"
    )


def _init_script(name: str, daemon: str) -> str:
    return (
        "#!/bin/sh\n"
        "### BEGIN INIT INFO\n"
        f"# Provides:          {name}\n"
        "# Required-Start:    $network $remote_fs $syslog\n"
        "# Required-Stop:     $network $remote_fs $syslog\n"
        "# Default-Start:     2 3 4 5\n"
        "# Default-Stop:      0 1 6\n"
        f"# Short-Description: Starts and stops {daemon}\n"
        f"# Description:       Starts and stops the {daemon} cluster daemon.\n"
        "### END INIT INFO\n\n"
        f"DAEMON=/usr/sbin/{daemon}\n"
        "case \"$1\" in\n"
        "  start) \"$DAEMON\" ;;\n"
        f"  stop) pkill -x {daemon} || true ;;\n"
        "  restart|force-reload) \"$0\" stop; \"$0\" start ;;\n"
        f"  status) pgrep -x {daemon} >/dev/null ;;\n"
        "  *) echo \"Usage: $0 {start|stop|restart|force-reload|status}\"; exit 2 ;;\n"
        "esac\n"
    )


def initial_tree() -> dict[str, tuple[str, str]]:
    """path -> (mode, content) of the first commit of the tree."""
    tree: dict[str, tuple[str, str]] = {
        "README": ("100644", "The cluster tree: cluster infrastructure, fencing, locking and GFS2.\n"),
        "Makefile": ("100644", "SUBDIRS = cman dlm fence/agents gfs2 rgmanager\n\nall:\n\tfor d in $(SUBDIRS); do $(MAKE) -C $$d; done\n"),
    }
    fence = "fence/agents"
    agents = [("fence_apc", "APC power switch"), ("fence_ipmilan", "IPMI LAN interface"), ("fence_virsh", "libvirt host")]
    for agent, device in agents:
        tree[f"{fence}/{agent}"] = ("100755", _fence_script(agent, device))
        tree[f"{fence}/{agent}.8"] = ("100644", _man(agent, f"fence agent for the {device}"))
    tree[f"{fence}/fence_ack_manual.c"] = ("100644", _c_program("fence_ack_manual", "acknowledge a manual fence"))
    tree[f"{fence}/Makefile"] = ("100644", _makefile(["fence_ack_manual"], [a for a, _ in agents],
                                                      [f"{a}.8" for a, _ in agents]))
    tree["dlm/dlm_controld.c"] = ("100644", _c_program("dlm_controld", "distributed lock manager control daemon"))
    tree["dlm/dlm_tool.c"] = ("100644", _c_program("dlm_tool", "inspect and manage lockspaces"))
    tree["dlm/dlm_controld.8"] = ("100644", _man("dlm_controld", "distributed lock manager control daemon"))
    tree["dlm/dlm_tool.8"] = ("100644", _man("dlm_tool", "inspect and manage lockspaces"))
    tree["dlm/Makefile"] = ("100644", _makefile(["dlm_controld", "dlm_tool"], [], ["dlm_controld.8", "dlm_tool.8"]))
    tree["dlm/init/dlm"] = ("100755", _init_script("dlm", "dlm_controld"))
    tree["gfs2/mkfs.gfs2.c"] = ("100644", _c_program("mkfs.gfs2", "make a GFS2 file system"))
    tree["gfs2/fsck.gfs2.c"] = ("100644", _c_program("fsck.gfs2", "check and repair a GFS2 file system"))
    tree["gfs2/mkfs.gfs2.8"] = ("100644", _man("mkfs.gfs2", "make a GFS2 file system"))
    tree["gfs2/fsck.gfs2.8"] = ("100644", _man("fsck.gfs2", "check and repair a GFS2 file system"))
    tree["gfs2/Makefile"] = ("100644", _makefile(["mkfs.gfs2", "fsck.gfs2"], [], ["mkfs.gfs2.8", "fsck.gfs2.8"]))
    for comp in COMPONENTS:
        license_text = LGPL if comp.name == "dlm" else GPL
        tree[f"{comp.path}/README"] = ("100644", f"{comp.name}: {comp.summary.lower()}.\n")
        tree[f"{comp.path}/COPYING"] = ("100644", license_text)
        tree[f"{comp.path}/version.h"] = ("100644", '#define RELEASE_VERSION "1.99.0"\n')
        tree[f"{comp.path}/NEWS"] = ("100644", f"{comp.name} news\n")
    for name in STAYING:
        tree[f"{name}/README"] = ("100644", f"{name}: stays in the cluster tree.\n")
        tree[f"{name}/NEWS"] = ("100644", f"{name} news\n")
    return tree


SUBJECTS = (
    "fix: handle a missing option in {what}",
    "feat: add a verbose mode to {what}",
    "doc: describe {what} in the README",
    "build: quieter compiler warnings in {what}",
    "fix: off-by-one in {what} argument parsing",
    "refactor: simplify {what} error paths",
)


@dataclass
class _Commit:
    branch: str
    author: tuple[str, str]
    when: dt.datetime
    message: str
    changes: dict[str, tuple[str, str] | None]
    merge: str | None = None  # a branch merged into this one


def _plan() -> Iterator[_Commit]:
    """Every commit of the history in order; deterministic."""
    areas = [c.path for c in COMPONENTS] + list(STAYING)
    tree = initial_tree()
    yield _Commit(BRANCH, AUTHORS[0], START, "Import the cluster tree\n", dict(tree))
    number = 1
    topic = 0
    while number < 300:
        number += 1
        when = START + dt.timedelta(hours=55 * number)
        area = areas[(number * 7) % len(areas)]
        who = AUTHORS[(number * 3) % len(AUTHORS)]
        for version, at in RELEASES:
            if at == number:
                changes: dict[str, tuple[str, str]] = {}
                for comp in COMPONENTS:
                    changes[f"{comp.path}/version.h"] = ("100644", f'#define RELEASE_VERSION "{version}"\n')
                    tree.update(changes)
                yield _Commit(BRANCH, AUTHORS[0], when, f"Release cluster {version}\n", {**changes})
                break
        else:
            if number % 25 == 0:
                # a topic branch of three commits, merged back with a merge commit
                topic += 1
                name = f"topic/{topic}"
                for step in range(3):
                    number += 1
                    news = f"{area}/NEWS"
                    text = tree[news][1] + f"topic {topic} step {step}\n"
                    tree[news] = ("100644", text)
                    yield _Commit(name, who, when + dt.timedelta(minutes=10 * step),
                                  f"feat: {area} topic {topic}, step {step + 1}\n", {news: ("100644", text)})
                yield _Commit(BRANCH, AUTHORS[1], when + dt.timedelta(hours=1),
                              f"Merge branch '{name}'\n", {}, merge=name)
                continue
            news = f"{area}/NEWS"
            what = area.split("/")[-1]
            text = tree[news][1] + f"change {number}\n"
            tree[news] = ("100644", text)
            subject = SUBJECTS[number % len(SUBJECTS)].format(what=what)
            body = f"{subject}\n\nSigned-off-by: {who[0]} <{who[1]}>\n"
            yield _Commit(BRANCH, who, when, body, {news: ("100644", text)})


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def fast_import_stream() -> bytes:
    """The history as a fast-import stream."""
    out: list[bytes] = []
    branch_head: dict[str, int] = {}
    release_marks: dict[str, int] = {}
    for mark, commit in enumerate(_plan(), start=1):
        ident = f"{commit.author[0]} <{commit.author[1]}> {int(commit.when.timestamp())} +0200"
        out.append(f"commit refs/heads/{commit.branch}\nmark :{mark}\n".encode())
        out.append(f"author {ident}\ncommitter {ident}\n".encode())
        out.append(_data(commit.message.encode()))
        if commit.branch not in branch_head and commit.branch != BRANCH:
            out.append(f"from :{branch_head[BRANCH]}\n".encode())
        elif commit.branch in branch_head:
            out.append(f"from :{branch_head[commit.branch]}\n".encode())
        if commit.merge:
            out.append(f"merge :{branch_head[commit.merge]}\n".encode())
        for path, entry in sorted(commit.changes.items()):
            if entry is None:
                out.append(f"D {path}\n".encode())
            else:
                out.append(f"M {entry[0]} inline {path}\n".encode())
                out.append(_data(entry[1].encode()))
        out.append(b"\n")
        branch_head[commit.branch] = mark
        if commit.message.startswith("Release cluster "):
            release_marks[commit.message.split()[2]] = mark
    for version, tagged in release_marks.items():
        when = int((START + dt.timedelta(days=400)).timestamp()) + tagged * 60
        out.append(f"tag cluster-{version}\nfrom :{tagged}\n".encode())
        out.append(f"tagger {AUTHORS[0][0]} <{AUTHORS[0][1]}> {when} +0200\n".encode())
        out.append(_data(f"cluster {version} release\n".encode()))
    return b"".join(out)


def create(path: Path) -> str:
    """Create the monolithic repository at ``path`` (which must not exist); return its head."""
    proc.run(["git", "init", "-q", "-b", BRANCH, str(path)])
    proc.run(["git", "-C", str(path), "fast-import", "--quiet", "--force"], input=fast_import_stream())
    for branch in proc.git(path, "for-each-ref", "--format=%(refname)", "refs/heads/topic").split():
        proc.run(["git", "-C", str(path), "update-ref", "-d", branch])
    proc.run(["git", "-C", str(path), "checkout", "-q", BRANCH])
    return proc.git(path, "rev-parse", "HEAD")

"""A sample component for the render tests: sources, a manifest and a release tarball.

The component ``sample-hello`` has a C program and a shell script built by a
plain Makefile (GNU directory variables), a systemd unit and an LSB init script,
a settings file the packaging installs by hand (templates/by-hand beside the manifest),
a second binary package that depends on the first, and a description written
to break naive escaping (``%``, ``$``, ``${HOME}``, backslashes, a leading dot,
blank lines, non-ASCII).
"""

from __future__ import annotations

import datetime as dt
import io
import tarfile
from pathlib import Path

NAME = "sample-hello"
VERSION = "1.2.3"
PACKAGER = "Test Packager <packager@example.org>"

DESCRIPTION = """\
Says hello with 100% certainty; it costs $5, or ${HOME} and $(pwd) in a shell.
A backslash \\ and \\n stay as typed; %{name} and %(echo no) are not expanded.

.a line that starts with a dot
# a line that starts with a hash
Non-ASCII text stays UTF-8: Grüße, naïve café, ☃.
"""

SOURCES = {
    "hello.c": """\
#include <stdio.h>

int main(void)
{
    puts("hello from sample-hello");
    return 0;
}
""",
    "hello-greet": """\
#!/bin/sh
# Greets the person named on the command line.
echo "hello, ${1:-world}"
""",
    "sample-hello.service": """\
[Unit]
Description=Sample hello service

[Service]
Type=oneshot
ExecStart=/usr/bin/sample-hello

[Install]
WantedBy=multi-user.target
""",
    "sample-hello.init": """\
#!/bin/sh
### BEGIN INIT INFO
# Provides:          sample-hello
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Sample hello service
# Description:       Says hello once at boot.
### END INIT INFO
case "$1" in
  start) /usr/bin/sample-hello ;;
  stop|restart|force-reload|status) : ;;
  *) echo "Usage: $0 {start|stop|restart|force-reload|status}" >&2; exit 3 ;;
esac
exit 0
""",
    "Makefile": """\
# GNU directory variables; packaging passes the distribution's values.
prefix ?= /usr/local
bindir ?= $(prefix)/bin
sysconfdir ?= /etc
unitdir ?= $(prefix)/lib/systemd/system
initddir ?= $(sysconfdir)/init.d
CFLAGS ?= -O2 -g

all: sample-hello

sample-hello: hello.c
\t$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ hello.c

check: sample-hello
\t./sample-hello | grep -q hello

install: all
\tinstall -D -m 0755 sample-hello $(DESTDIR)$(bindir)/sample-hello
\tinstall -D -m 0755 hello-greet $(DESTDIR)$(bindir)/hello-greet
\tinstall -D -m 0644 sample-hello.service $(DESTDIR)$(unitdir)/sample-hello.service
\tinstall -D -m 0755 sample-hello.init $(DESTDIR)$(initddir)/sample-hello

clean:
\trm -f sample-hello

.PHONY: all check install clean
""",
    "hello.conf": "# Settings of sample-hello (installed by the packaging, not by make install).\ngreeting=hello\n",
    "COPYING": "This sample is licensed under the GNU GPL, version 2 or later.\n",
    "README": "sample-hello: a component for the render tests.\n",
}


def manifest_text(description: str = DESCRIPTION) -> str:
    indented = "".join(f"      {line}\n" if line.strip() else "\n" for line in description.splitlines())
    return f"""\
schema: 1
distribution:
  name: Test distribution
  obs_project: home:test
  packager: {PACKAGER}
targets:
  - name: Debian_12
    label: Debian 12
    family: deb
    project: Debian:12
    repository: standard
    archs: [x86_64]
components:
  - name: {NAME}
    summary: Greets the world 100% of the time
    description: |
{indented}    homepage: https://example.org/sample-hello
    license: GPL-2.0-or-later
    git: https://example.org/sample-hello.git
    tag_pattern: v{{version}}
    version_scheme: rpm
    version: "{VERSION}"
    released: 2026-11-25
    tarball: https://example.org/releases/{{name}}-{{version}}.tar.gz
    packaging:
      build_system: make
      build_requires:
        rpm: [gcc]
      units: [sample-hello.service]
      init_scripts: [sample-hello]
      docs: [README]
      license_files: [COPYING]
      files:
        - "{{bindir}}/sample-hello"
        - "%config(noreplace) {{sysconfdir}}/sample-hello.conf"
      subpackages:
        - name: sample-hello-tools
          summary: Shell tools for sample-hello
          description: |
            A greeting script that goes with sample-hello.
          arch: all
          requires:
            rpm: ["sample-hello = %{{version}}-%{{release}}"]
            deb: ["sample-hello (= ${{binary:Version}})"]
          files:
            - "{{bindir}}/hello-greet"
"""


HISTORY = {
    "component": NAME,
    "releases": [
        {
            "version": VERSION,
            "date": "2026-11-25T12:00:00+00:00",
            "packager": PACKAGER,
            "tag": f"v{VERSION}",
            "changes": [
                {"subject": "Greet 100% of users, even with %{macros} and *stars*"},
                {"subject": "Add an LSB init script"},
            ],
        },
        {
            "version": "1.2.2",
            "date": "2026-03-02T08:30:00+00:00",
            "packager": "Jörg Müller <joerg@example.org>",
            "tag": "v1.2.2",
            "changes": [{"subject": "First release"}],
        },
    ],
}


# A step upstream's Makefile does not do, for both packaging formats.
BY_HAND = """{% set steps = [("hello.conf", "{sysconfdir}/sample-hello.conf", "0644")] %}\n"""


# A component's own Debian files: a system user through dh_installsysusers.
CONTROL = """{% extends "debian/control.j2" %}
{% block build_depends_extra %}
 dh-sequence-installsysusers,
{% endblock %}
"""
SYSUSERS = 'u sample-hello - "sample-hello daemon" /var/lib/sample-hello\n'


def make_project(root: Path, packaging_extra: str = "") -> Path:
    """Write the manifest and release history under ``root``; return the manifest path.

    ``packaging_extra`` is YAML appended to the component's ``packaging`` (keys indented by 6).
    """
    import json

    root.mkdir(parents=True, exist_ok=True)
    (root / "components.yaml").write_text(manifest_text() + packaging_extra, encoding="utf-8")
    (root / "history").mkdir(exist_ok=True)
    (root / "history" / f"{NAME}.json").write_text(json.dumps(HISTORY, ensure_ascii=False), encoding="utf-8")
    (root / "templates" / "by-hand").mkdir(parents=True, exist_ok=True)
    (root / "templates" / "by-hand" / f"{NAME}.j2").write_text(BY_HAND, encoding="utf-8")
    own = root / "templates" / "debian" / NAME
    own.mkdir(parents=True, exist_ok=True)
    (own / "control.j2").write_text(CONTROL, encoding="utf-8")
    (own / f"{NAME}.sysusers.j2").write_text(SYSUSERS, encoding="utf-8")
    return root / "components.yaml"


def make_tarball(path: Path) -> Path:
    """The release tarball ``NAME-VERSION.tar.gz`` with a ``NAME-VERSION/`` top directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mtime = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()  # in the past: make warns about future files
    with tarfile.open(path, "w:gz") as tar:
        for name, text in sorted(SOURCES.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"{NAME}-{VERSION}/{name}")
            info.size = len(data)
            info.mtime = int(mtime)
            info.mode = 0o755 if name in ("hello-greet", "sample-hello.init") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return path

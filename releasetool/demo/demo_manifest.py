"""The manifest of the demo: the components of the generated cluster tree.

It has the same schema as the real components.yaml; what differs is where
things live: the split source is the generated monolithic repository, the
component repositories are local, and the OBS project is on the local
service.
"""

from __future__ import annotations

import datetime as dt

from releasetool.demo.upstream import COMPONENTS

PACKAGER = "Demo Release Manager <release@cluster.example>"

PACKAGING = {
    "fence-agents": {
        "license": "GPL-2.0-or-later",
        "description": "Fence agents power off or reboot a cluster node that stopped answering, through\n"
                       "the node's power switch or management board, so that the rest of the cluster can\n"
                       "safely take over its resources.",
        "files": ["{sbindir}/fence_ack_manual", "{sbindir}/fence_apc", "{sbindir}/fence_ipmilan",
                  "{sbindir}/fence_virsh", "{mandir}/man8/fence_*.8*"],
        "arch": "any",
    },
    "dlm": {
        "license": "LGPL-2.1-or-later",
        "description": "The distributed lock manager control daemon configures the kernel's DLM and\n"
                       "manages lockspaces on behalf of cluster file systems and applications.",
        "files": ["{sbindir}/dlm_controld", "{sbindir}/dlm_tool", "{mandir}/man8/dlm_*.8*"],
        "arch": "any",
    },
    "gfs2-utils": {
        "license": "GPL-2.0-or-later",
        "description": "Tools to make, check and repair GFS2 cluster file systems, which nodes of a\n"
                       "cluster mount together on shared block storage.",
        "files": ["{sbindir}/mkfs.gfs2", "{sbindir}/fsck.gfs2", "{mandir}/man8/*.gfs2.8*"],
        "arch": "any",
    },
}


def text(*, upstream_url: str, repos_url: str, released: dt.date, obs_project: str = "home:demo:cluster",
         downloads_url: str = "https://cluster.example/downloads") -> str:
    """The YAML of the demo manifest.

    ``upstream_url`` is the monolithic repository (a file:// URL);
    ``repos_url`` the directory URL under which each component's own
    repository lives (``repos_url/NAME``).
    """
    lines = [
        "# The demo's community distribution: components split out of a generated",
        "# monolithic cluster tree.  Written by `releasetool demo`.",
        "schema: 1",
        "distribution:",
        "  name: Demo community distribution",
        f"  obs_project: {obs_project}",
        "  site_url: http://127.0.0.1:8000  # where `releasetool site serve` shows the page: the feeds' links",
        f"  packager: {PACKAGER}",
        "targets:",
        "  - name: openSUSE_Tumbleweed",
        "    label: openSUSE Tumbleweed",
        "    family: rpm",
        "    project: openSUSE:Factory",
        "    repository: snapshot",
        "    archs: [x86_64]",
        "  - name: Debian_12",
        "    label: Debian 12 (bookworm)",
        "    family: deb",
        "    project: Debian:12",
        "    repository: standard",
        "    archs: [x86_64]",
        "components:",
    ]
    for comp in COMPONENTS:
        pk = PACKAGING[comp.name]
        lines += [
            f"  - name: {comp.name}",
            f"    summary: {comp.summary}",
            "    description: |",
            *[f"      {line}" for line in str(pk["description"]).splitlines()],
            f"    homepage: https://cluster.example/{comp.name}",
            f"    license: {pk['license']}",
            f"    git: {repos_url}/{comp.name}",
            "    tag_pattern: v{version}",
            "    version_scheme: rpm",
            '    version: "3.0.0"',
            f"    released: {released.isoformat()}",
            f"    tarball: {downloads_url}/{comp.name}-{{version}}.tar.gz",
            "    tarball_formats: [gz, xz]",
            "    split:",
            f"      repository: {upstream_url}",
            "      branch: master",
            "      tag_pattern: cluster-{version}",
            "      paths:",
            f"        - from: {comp.path}",
            "    packaging:",
            "      build_system: make",
            "      templates: base  # the base templates only, not those of the real component of this name",
            "      build_requires:",
            "        rpm: [gcc, make]",
            "        deb: []",
            "      docs: [README, NEWS]",
            "      license_files: [COPYING]",
            "      files:",
            *[f'        - "{f}"' for f in pk["files"]],
            "      section: admin",
            f"      arch: {pk['arch']}",
        ]
    return "\n".join(lines) + "\n"

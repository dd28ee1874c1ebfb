"""site discover, site build, site serve: the go-to page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from releasetool.cli import common

MAX_TIMEOUT = 3600.0  # seconds for one source; more is a mistake (and overflows the socket timeout)


def register(sub: common.Subcommands) -> None:
    site = common.add_command(
        sub, "site",
        help="discover upstream releases and build the go-to page",
        description="The go-to page: the latest stable version of every component from all its sources,\n"
        "as a static site with versions.json and an Atom feed.",
        epilog="Run `releasetool site discover`, then `releasetool site build`, then publish the output directory.",
    )
    site_sub = site.add_subparsers(dest="site_command", metavar="SUBCOMMAND")
    site.set_defaults(run=lambda args: _usage(site))

    p = common.add_command(
        site_sub, "discover",
        help="find every component's releases upstream",
        description="Ask every source the manifest names for each component (git tags with `git ls-remote`,\n"
        "the GitHub releases API for github.com repositories, the directory listing of its tarballs,\n"
        "and with --obs-api the package in the OBS project), map tags to versions and their commits,\n"
        "get the SHA-256 of every release's tarball (upstream's checksum file, else the tarball fetched\n"
        "and hashed, cached by URL and ETag in sha256.json), and write site-data.json in the state\n"
        "directory. A source that fails keeps its last known data and marks the component stale; the\n"
        "run always finishes and lists what failed.",
        epilog="environment: RELEASETOOL_GITHUB_API overrides the GitHub API base URL; GITHUB_TOKEN, when set,\n"
        "is sent to it (never printed or stored).\n"
        "exit status: 0 done (some sources may have failed), 1 more than half of the sources failed,\n"
        "2 bad input.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="components to ask (default: every active one)")
    p.add_argument("--cache", metavar="DIR", type=Path,
                   help="state directory: site-data.json and the HTTP cache (default: .releasetool-cache/site "
                   "beside the manifest)")
    p.add_argument("--offline", action="store_true",
                   help="ask no source: use the manifest's versions (and what the last discovery found)")
    p.add_argument("--jobs", type=int, default=8, metavar="N", help="sources asked at once (default: 8)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="time allowed to each source (default: 10)")
    p.add_argument("--obs-api", metavar="URL", help="also read package versions and build results from this OBS API")
    p.add_argument("--obs-config", metavar="OSCRC",
                   help="log in to the OBS API with this osc configuration (default: read anonymously)")
    p.add_argument("--dry-run", action="store_true", help="discover and print, but write no data file")
    p.add_argument("--json", action="store_true", help="print the data as JSON on stdout")
    p.set_defaults(run=run_discover)

    p = common.add_command(
        site_sub, "build",
        help="render the static site from the discovered data",
        description="Render index.html, a page per component (with its JSON, Atom feed and SVG badges),\n"
        "versions.json and releases.atom from the manifest and site-data.json (the manifest's versions\n"
        "when there is no data). A local download area (file:// tarball URLs) becomes downloads/, a\n"
        "symbolic link, and its files are linked relative to the site (publish with `cp -rL` or\n"
        "`rsync -L` to copy them). The new site is built beside the old one and swapped in with one rename. When more than half of the sources\n"
        "failed in the last discovery the site is not published and the old one stays.",
        epilog="exit status: 0 published or up to date, 1 refused (too many sources failed), 2 bad input.",
    )
    p.add_argument("--out", metavar="DIR", type=Path, help="output directory (default: _site beside the manifest); a symlink is followed)")
    p.add_argument("--data", metavar="FILE", type=Path,
                   help="discovery data (default: .releasetool-cache/site/site-data.json beside the manifest)")
    p.add_argument("--allow-failures", action="store_true",
                   help="publish even when more than half of the sources failed")
    p.add_argument("--dry-run", action="store_true", help="render and report, but publish nothing")
    p.add_argument("--json", action="store_true", help="print a report as JSON on stdout")
    p.set_defaults(run=run_build)

    p = common.add_command(
        site_sub, "serve",
        help="serve the built site on 127.0.0.1",
        description="Serve the built site on http://127.0.0.1:PORT/ until interrupted, with ETag and\n"
        "Last-Modified on every file (answering If-None-Match and If-Modified-Since with 304) and\n"
        "Access-Control-Allow-Origin: * on the JSON files, the feeds and the badges.",
    )
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    p.add_argument("--dir", metavar="DIR", type=Path, help="site directory (default: _site beside the manifest)")
    p.set_defaults(run=run_serve)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _manifest_dir(args: argparse.Namespace) -> Path:
    return Path(common.manifest_path(args)).resolve().parent


def run_discover(args: argparse.Namespace) -> int:
    from releasetool import manifest
    from releasetool.errors import SiteError
    from releasetool.site.discover import DiscoverSettings, default_state_dir, discover

    if args.jobs < 1:
        raise SiteError(f"--jobs {args.jobs}: must be 1 or more", hint="for example --jobs 8")
    if not 0 < args.timeout <= MAX_TIMEOUT:  # also false for nan
        raise SiteError(f"--timeout {args.timeout:g}: must be more than 0 and at most {MAX_TIMEOUT:g} seconds",
                        hint="for example --timeout 10")
    loaded = manifest.load(common.manifest_path(args))
    state_dir = common.output_dir(args.cache or default_state_dir(loaded), "--cache")
    settings = DiscoverSettings.from_environment(
        state_dir, offline=args.offline, timeout=args.timeout, jobs=args.jobs,
        obs_api=args.obs_api, obs_config=args.obs_config, dry_run=args.dry_run)
    result = discover(loaded, args.names, settings)

    from releasetool.log import log
    wanted = set(args.names) or set(result.components)
    if args.json:
        common.print_json(result.to_json())
    else:
        rows = []
        for name, entry in result.components.items():
            if name not in wanted:
                continue
            rows.append([name, entry.latest_stable.version if entry.latest_stable else "-",
                         (entry.latest_stable.date or "-") if entry.latest_stable else "-",
                         entry.latest_prerelease.version if entry.latest_prerelease else "-",
                         "stale" if entry.stale else entry.origin])
        common.print_table(["NAME", "STABLE", "RELEASED", "PRERELEASE", "DATA"], rows)
    if result.mode == "offline":
        log.info("offline: %d components from the manifest's versions%s", len(wanted),
                 "" if args.dry_run else f"; data in {settings.data_path}")
        return 0
    failed = result.sources_failed
    log.info("asked %d sources: %d answered, %d failed%s", result.sources_total, result.sources_total - failed,
             failed, "" if args.dry_run else f"; data in {settings.data_path}")
    if result.sources_total and failed == result.sources_total:
        log.warning("no source answered: the page will show the last known data or the manifest's versions")
    if result.mostly_failed:
        log.warning("more than half of the sources failed: `releasetool site build` will refuse to publish")
        return 1
    return 0


def run_build(args: argparse.Namespace) -> int:
    from releasetool import manifest
    from releasetool.site.build import BuildSettings, build_site
    from releasetool.site.data import DATA_FILE
    from releasetool.site.discover import default_state_dir

    loaded = manifest.load(common.manifest_path(args))
    out = common.output_dir(args.out or _manifest_dir(args) / "_site")
    data_path = args.data or default_state_dir(loaded) / DATA_FILE
    report = build_site(loaded, BuildSettings(out=out, data_path=data_path, allow_failures=args.allow_failures,
                                              dry_run=args.dry_run))
    if args.json:
        common.print_json({"out": str(report.out), "plan": report.plan, "changed": report.changed,
                           "files": report.files, "mode": report.mode, "stale": report.stale,
                           "from_manifest_only": report.fallback or report.mode == "offline"})
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from releasetool.log import log
    from releasetool.site.serve import make_server

    directory = args.dir or _manifest_dir(args) / "_site"
    server = make_server(directory, args.port)
    log.info("serving %s on http://127.0.0.1:%d/ (interrupt to stop)", directory, server.server_address[1])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0

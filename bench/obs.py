"""Submitting to OBS: releasetool against osc's command line, on the local OBS-compatible service.

Both sides run against the same service on 127.0.0.1 (started in this process,
so it can count the HTTP requests each side sends):

- first submission of N packages: ``releasetool obs submit --all`` against, for
  osc, what a packager does per package: ``osc meta pkg -F``, ``osc co``,
  copy the files in, ``osc add``, ``osc ci``;
- resubmission of the same N unchanged packages: ``releasetool obs submit --all``
  again against ``osc ci`` in each checked-out package (which finds nothing to
  commit);
- the service: time to answer a file listing (``GET /source/P/K``), the call
  both sides make most.

Figures: wall-clock seconds and HTTP requests per side, and their ratios.
Usage: bench/obs.py [N]   (default 50 packages)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import emit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from obs_helpers import start_service, write_manifest  # noqa: E402

from releasetool import manifest as manifest_mod  # noqa: E402
from releasetool.obs.client import files_for_package  # noqa: E402

RELEASETOOL = str(Path(sys.executable).parent / "releasetool")


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   stdin=subprocess.DEVNULL)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with tempfile.TemporaryDirectory(prefix="bench-obs-") as tmp:
        base = Path(tmp)
        svc = start_service(base / "svc")
        env = svc.env()
        stats = svc.service.stats
        ours_manifest = write_manifest(base / "ours", count, project="bench:ours")
        theirs_manifest = write_manifest(base / "theirs", count, project="bench:theirs")
        submit = [RELEASETOOL, "--manifest", str(ours_manifest), "obs", "submit", "--all", "--apiurl", svc.url,
                  "--config", str(svc.oscrc), "-q"]

        def measure(fn) -> tuple[float, int]:  # type: ignore[no-untyped-def]
            before = dict(stats)
            started = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - started
            if os.environ.get("BENCH_VERBOSE"):
                print({k: v - before.get(k, 0) for k, v in stats.items() if v != before.get(k, 0)}, file=sys.stderr)
            return elapsed, stats["total"] - before.get("total", 0)

        ours_first = measure(lambda: run(submit, env))
        # Right after the first run, so that the rendered files are the same
        # (templates edited in between would make real changes to commit).
        ours_again = measure(lambda: run(submit, env))

        # osc: the same packages, by hand as a packager would.
        loaded = manifest_mod.load(theirs_manifest)
        meta = base / "prj.xml"
        meta.write_text('<project name="bench:theirs"><title>t</title><description>d</description>'
                        '<repository name="Debian_12"><path project="Debian:12" repository="standard"/>'
                        "<arch>x86_64</arch></repository></project>")
        osc = [str(Path(sys.executable).parent / "osc"), "--config", str(svc.oscrc)]
        wc = base / "wc"
        wc.mkdir()

        def osc_first() -> None:
            run([*osc, "meta", "prj", "bench:theirs", "-F", str(meta)], env)
            for comp in loaded.components.values():
                pkg_meta = base / f"{comp.name}.xml"
                pkg_meta.write_text(f'<package name="{comp.name}" project="bench:theirs"><title>{comp.summary}'
                                    f"</title><description>{comp.description}</description></package>")
                run([*osc, "meta", "pkg", "bench:theirs", comp.name, "-F", str(pkg_meta)], env)
                run([*osc, "co", "bench:theirs", comp.name], env, cwd=wc)
                target = wc / "bench:theirs" / comp.name
                files = files_for_package(loaded, comp)
                for name, data in files.items():
                    (target / name).write_bytes(data)
                run([*osc, "add", *sorted(files)], env, cwd=target)
                run([*osc, "ci", "-m", "bench"], env, cwd=target)

        theirs_first = measure(osc_first)

        def osc_again() -> None:
            for comp in loaded.components.values():
                run([*osc, "ci", "-m", "bench"], env, cwd=wc / "bench:theirs" / comp.name)

        theirs_again = measure(osc_again)

        from releasetool.obs.api import Api, Settings
        from releasetool.obs.client import listing

        api = Api(Settings(apiurl=svc.url, config=str(svc.oscrc)))
        listing(api, "bench:ours", "comp00")
        rounds = 200
        started = time.perf_counter()
        for _ in range(rounds):
            listing(api, "bench:ours", "comp00")
        per_listing = (time.perf_counter() - started) / rounds

        svc.service.shutdown()
        svc.service.server_close()
        shutil.rmtree(base / "wc", ignore_errors=True)

    emit(f"obs first submission of {count} packages (wall)", ours_first[0], "osc meta+co+add+ci", theirs_first[0])
    emit(f"obs first submission of {count} packages (HTTP requests)", ours_first[1], "osc meta+co+add+ci",
         theirs_first[1], unit="requests")
    emit(f"obs resubmission of {count} unchanged packages (wall)", ours_again[0], "osc ci", theirs_again[0])
    emit(f"obs resubmission of {count} unchanged packages (HTTP requests)", ours_again[1], "osc ci",
         theirs_again[1], unit="requests")
    emit("obs service: one file listing, client included", per_listing, note=f"{rounds} rounds")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    sys.exit(main())

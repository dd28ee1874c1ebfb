"""A release train: several components released together, in dependency order.

The train file (YAML)::

    # The 2025.1 coordinated release.
    releases:              # required: component -> version to release
      libqb: 2.0.9
      corosync: 3.1.9
    repos:                 # optional: component -> path of its clone
      libqb: ../libqb      #   (relative to this file; default: ./NAME beside this file)
    out: dist              # optional: where NAME-VERSION/ directories go
                           #   (relative to this file; default: dist/ beside the manifest)

Versions are read as text (``2.10`` stays ``2.10``).  Every check of every
component runs first; nothing is written unless all pass.  Components are then
released one after another in the manifest's dependency order, and with
``--push`` the pushes happen only once every component's local steps are done.
Running the same train again after an interruption finishes it: components
already released are found complete and left as they are.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from pathlib import Path

from releasetool import manifest
from releasetool.errors import ReleaseCheckError, ReleaseError
from releasetool.log import log
from releasetool.release.cut import (
    ReleaseOptions,
    ReleasePlan,
    ReleaseResult,
    check_release,
    execute,
    locks,
    publish_release,
)

TRAIN_KEYS = ("releases", "repos", "out")


@dataclass(frozen=True)
class Train:
    path: Path
    releases: dict[str, str]  # in file order
    repos: dict[str, Path]
    out: Path | None


def load_train(path: str | Path) -> Train:
    """Read a train file; every problem of the file at once."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    train_path = Path(path)
    try:
        text = train_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReleaseError(f"{train_path}: no such train file", hint="see `releasetool train --help` for its format") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReleaseError(f"{train_path}: cannot read: {exc}") from None
    try:
        # The base loader keeps every scalar as text, so 2.10 is not the float 2.1.
        data = YAML(typ="base").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{train_path}:{mark.line + 1}" if mark else str(train_path)
        raise ReleaseError(f"{where}: YAML syntax error: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise ReleaseError(f"{train_path}: YAML nesting too deep for a train file",
                           hint="see `releasetool train --help` for the format") from None
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ReleaseError(f"{train_path}: expected a mapping with 'releases: {{name: version}}'",
                           hint="see `releasetool train --help` for the format")
    for key in data:
        if key not in TRAIN_KEYS:
            close = difflib.get_close_matches(str(key), TRAIN_KEYS, n=1)
            problems.append(f"{train_path}: unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                            + f" (allowed: {', '.join(TRAIN_KEYS)})")
    releases = data.get("releases")
    if not isinstance(releases, dict) or not releases:
        problems.append(f"{train_path}: releases: must map at least one component name to a version")
        releases = {}
    for name, version in releases.items():
        if not isinstance(version, str) or not version.strip():
            problems.append(f"{train_path}: releases.{name}: the version must be a string")
    repos = data.get("repos") or {}
    if not isinstance(repos, dict):
        problems.append(f"{train_path}: repos: must map component names to paths")
        repos = {}
    for name in repos:
        if name not in releases:
            problems.append(f"{train_path}: repos.{name}: {name} is not in releases")
    out = data.get("out")
    if out is not None and (not isinstance(out, str) or not out.strip()):
        problems.append(f"{train_path}: out: must be a directory path")
    if problems:
        raise ReleaseCheckError(f"{train_path}: {len(problems)} problem{'s' if len(problems) != 1 else ''} found",
                                problems, hint="see `releasetool train --help` for the format")
    base = train_path.resolve().parent
    return Train(
        path=train_path,
        releases={str(k): str(v).strip() for k, v in releases.items()},
        repos={name: base / str(repos.get(name, name)) for name in releases},
        out=(base / out) if out else None,
    )


def plan_train(manifest_path: str | Path, train: Train, options: ReleaseOptions) -> list[ReleasePlan]:
    """Check every component of the train; the plans in dependency order, or every failure at once."""
    loaded = manifest.load(manifest_path)
    problems: list[str] = []
    for name in train.releases:
        if name not in loaded.components:
            close = difflib.get_close_matches(name, list(loaded.components), n=1)
            problems.append(f"{train.path}: releases.{name}: no such component in {manifest_path}"
                            + (f" (did you mean {close[0]!r}?)" if close else ""))
    plans: list[ReleasePlan] = []
    ordered = [c.name for c in loaded.components.values() if c.name in train.releases]
    for name in ordered:
        comp_options = replace(options, repo=train.repos[name], out=options.out or train.out)
        plan, found = check_release(manifest_path, name, train.releases[name], comp_options, loaded=loaded)
        problems.extend(found)
        if plan is not None:
            plans.append(plan)
    if problems:
        raise ReleaseCheckError(
            f"train {train.path}: {len(problems)} check{'s' if len(problems) != 1 else ''} failed; nothing was released",
            problems,
            hint="fix the problems above and run the train again",
        )
    return plans


def release_train(manifest_path: str | Path, train: Train, options: ReleaseOptions) -> list[ReleaseResult]:
    """Release every component of the train under the locks (:func:`plan_train` alone for a dry run).

    Every component is executed before any is published, so a failure part
    way leaves nothing pushed; a rerun continues from the journals.
    """
    with locks(manifest_path, list(train.repos.values())):
        plans = plan_train(manifest_path, train, options)
        results = []
        for index, plan in enumerate(plans, 1):
            log.info("[%d/%d] %s %s", index, len(plans), plan.name, plan.version)
            results.append(execute(plan, publish=False))
        for plan, result in zip(plans, results, strict=True):
            publish_release(plan, result)
        return results


def summary(results: list[ReleaseResult]) -> list[dict[str, object]]:
    return [r.to_json() for r in results]

"""Fault plans for the local OBS-compatible service.

A plan is a YAML or JSON list of rules (or a mapping with a ``faults`` list).
Each rule matches requests and says what happens to the matching ones::

    - request: "POST /source/*/*"      # METHOD and a glob on the path (METHOD may be *)
      query: {cmd: commitfilelist}     # optional: every key must match (glob on the value)
      nth: 3                           # only the 3rd matching request; or
      every: 5                         # every 5th matching request; default: every one
      times: 1                         # at most this many times (default: unlimited)
      effect: error-after              # see EFFECTS
      status: 504                      # for error / error-after
      seconds: 2                       # for delay

Effects: ``error`` answers ``status`` without doing anything; ``error-after``
does the work (the state changes) and then answers ``status``, as a proxy that
times out after the backend stored a commit; ``reset`` closes the connection
without an answer; ``reset-after`` does the work, then closes the connection;
``delay`` sleeps ``seconds`` before handling; ``dirty`` makes a build result
request report every result as dirty (the scheduler never catches up).
"""

from __future__ import annotations

import fnmatch
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from releasetool.errors import FaultPlanError

EFFECTS = ("error", "error-after", "reset", "reset-after", "delay", "dirty")


@dataclass
class Rule:
    method: str
    path: str
    query: dict[str, str]
    effect: str
    status: int = 500
    seconds: float = 0.0
    nth: int | None = None
    every: int | None = None
    times: int | None = None
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str, query: dict[str, str]) -> bool:
        if self.method not in ("*", method):
            return False
        if not fnmatch.fnmatchcase(path, self.path):
            return False
        return all(fnmatch.fnmatchcase(query.get(k, ""), v) for k, v in self.query.items())

    def fires(self) -> bool:
        """Count one matching request; True when the effect applies to it."""
        self.seen += 1
        if self.times is not None and self.fired >= self.times:
            return False
        if self.nth is not None:
            hit = self.seen == self.nth
        elif self.every is not None:
            hit = self.seen % self.every == 0
        else:
            hit = True
        if hit:
            self.fired += 1
        return hit


@dataclass
class Faults:
    rules: list[Rule] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def effects_for(self, method: str, path: str, query: dict[str, str]) -> list[Rule]:
        with self.lock:
            return [r for r in self.rules if r.matches(method, path, query) and r.fires()]


def load_plan(path: str | Path) -> Faults:
    """Read a fault plan; every problem in it is reported at once."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise FaultPlanError(f"{source}: cannot read the fault plan ({exc.strerror})") from None
    data: object
    try:
        data = json.loads(text)
    except ValueError:
        try:
            from ruamel.yaml import YAML

            data = YAML(typ="safe").load(text)
        except Exception as exc:
            raise FaultPlanError(f"{source}: not JSON or YAML ({type(exc).__name__})",
                                 hint="write the plan as a list of rules, see docs/obs-service.md") from None
    if isinstance(data, dict):
        data = data.get("faults", [])
    if not isinstance(data, list):
        raise FaultPlanError(f"{source}: the plan must be a list of rules")
    rules: list[Rule] = []
    problems: list[str] = []
    for i, raw in enumerate(data, 1):
        if not isinstance(raw, dict):
            problems.append(f"rule {i}: not a mapping")
            continue
        effect = str(raw.get("effect", ""))
        if effect not in EFFECTS:
            problems.append(f"rule {i}: effect {effect!r} is not one of {', '.join(EFFECTS)}")
            continue
        method, _, glob = str(raw.get("request", "* /*")).partition(" ")
        try:
            rules.append(Rule(
                method=method.upper() or "*", path=glob or "/*",
                query={str(k): str(v) for k, v in dict(raw.get("query") or {}).items()},
                effect=effect, status=int(raw.get("status", 500)), seconds=float(raw.get("seconds", 0)),
                nth=int(raw["nth"]) if "nth" in raw else None,
                every=int(raw["every"]) if "every" in raw else None,
                times=int(raw["times"]) if "times" in raw else None,
            ))
        except (TypeError, ValueError) as exc:
            problems.append(f"rule {i}: {exc}")
    if problems:
        raise FaultPlanError(f"{source}: " + "; ".join(problems))
    return Faults(rules)

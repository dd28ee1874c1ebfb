"""Every failure a user can see, as one exception hierarchy.

This module imports nothing from the package so that any module, including the
CLI's fast paths, can raise these without pulling in anything heavy.

A user-facing error carries a one-line ``message`` (what went wrong and where)
and an optional ``hint`` (how to fix it).  ``exit_code`` is 2 for bad input and
refused operations, 1 for failures of the tools and services we drive.
"""

from __future__ import annotations

from collections import namedtuple


class ReleasetoolError(Exception):
    """Base of every error the CLI turns into ``error: ...`` / ``hint: ...``."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        """The lines printed for this error, without the ``error:`` prefix."""
        return [self.message]


class Problem(namedtuple("Problem", ("file", "line", "col", "path", "message"))):
    """One finding of a validation: ``FILE:LINE:COL: path: what (allowed)``.

    Fields: file (str), line and col (int, 1-based), path (str, the place in
    the manifest, may be empty), message (str).  A named tuple rather than a
    dataclass: this module stays cheap to import.
    """

    __slots__ = ()

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ManifestError(ReleasetoolError):
    """components.yaml cannot be read or does not validate; carries every problem found."""

    def __init__(self, problems: list[Problem], *, hint: str | None = None) -> None:
        count = len(problems)
        super().__init__(
            f"{problems[0].file}: {count} problem{'s' if count != 1 else ''} found",
            hint=hint,
        )
        self.problems = problems

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class UnknownComponentError(ReleasetoolError):
    """A component name given on the command line is not in the manifest."""


class VersionError(ReleasetoolError):
    """A version string does not parse under its scheme, or a tag does not match its pattern."""


class GitError(ReleasetoolError):
    """A git repository, revision or ref is missing or not in the expected state."""


class SplitError(ReleasetoolError):
    """A split cannot be made (unknown prefix, ref conflict, damaged cache)."""


class ReleaseError(ReleasetoolError):
    """A release check failed or a release step cannot proceed."""


class LintError(ReleasetoolError):
    """Init scripts or packaging failed a lint gate."""


class RenderError(ReleasetoolError):
    """A template cannot be rendered for a component."""


class BuildError(ReleasetoolError):
    """A local package build cannot start (no tarball, unknown format, missing tool)."""


class ObsError(ReleasetoolError):
    """The Build Service refused a request or answered something unexpected."""

    exit_code = 1


class SiteError(ReleasetoolError):
    """Discovery or site building failed."""


class PublishRefusedError(SiteError):
    """The site is not published because too much of its data failed to refresh."""

    exit_code = 1


class UsageError(ReleasetoolError):
    """The command line asks for something that does not exist."""


class LockError(ReleasetoolError):
    """Another run holds the lock on the same repository, manifest or package."""


class CommandError(ReleasetoolError):
    """An external command (git, rpmbuild, ...) exited non-zero."""

    exit_code = 1

    def __init__(self, argv: list[str], returncode: int, stderr_tail: str) -> None:
        shown = " ".join(argv[:6]) + (" ..." if len(argv) > 6 else "")
        detail = f": {stderr_tail.strip().splitlines()[-1]}" if stderr_tail.strip() else ""
        super().__init__(f"`{shown}` exited with status {returncode}{detail}")
        self.argv = argv
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class ToolMissingError(ReleasetoolError):
    """A required external program is not installed."""

    exit_code = 1


class ReleaseCheckError(ReleaseError):
    """One or more release checks failed; carries every failure so all are shown at once."""

    def __init__(self, message: str, problems: list[str], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems

    def lines(self) -> list[str]:
        return [self.message, *[f"  {p}" for p in self.problems]]


# The Build Service client (releasetool.obs)


class ObsAuthError(ObsError):
    """The Build Service refused the credentials."""

    exit_code = 1


class ObsNotFound(ObsError):
    """A project, package, file or request does not exist."""


class ObsRefused(ObsError):
    """The Build Service answered and refused one request (an HTTP 4xx other than 401 and 404).

    It concerns what was sent, not the connection or the credentials: a run
    over several packages goes on with the others.
    """


class Transient(Exception):
    """A failure another attempt may not see (connection reset, 5xx, timeout)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


# The local OBS-compatible service (releasetool.obs.service)


class ObsConfigError(ObsError):
    """The osc configuration file given cannot be read: bad input, not a service failure."""

    exit_code = 2


class FaultPlanError(ObsError):
    """A fault plan file cannot be read."""

    exit_code = 2


class BuildProblem(Exception):
    """The sources cannot be built as they are: reported as ``broken``."""


class ApiError(Exception):
    """Answer the request with an OBS status document (HTTP status, error code, summary)."""

    def __init__(self, http: int, code: str, summary: str) -> None:
        super().__init__(summary)
        self.http = http
        self.code = code
        self.summary = summary


# Versions and the demo


class InvalidVersionError(VersionError):
    """A version string is not valid under its scheme.

    ``message`` (what the CLI prints) names the version and the scheme;
    ``str()`` is the ``reason`` alone, for callers that already name the
    version in their own message.
    """

    def __init__(self, scheme: str, text: str, reason: str) -> None:
        from releasetool.versions import FORMS  # versions imports this module

        super().__init__(f"{text!r} is not a valid {scheme} version: {reason}",
                         hint=f"{scheme} versions look like {FORMS.get(scheme, '...')}")
        self.scheme = scheme
        self.text = text
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class DemoStepError(ReleasetoolError):
    """A step of the demo failed; the message names the step and the component."""

    exit_code = 1

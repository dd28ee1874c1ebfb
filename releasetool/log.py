"""The one logger of releasetool: messages for people, on stderr.

Every module logs through :data:`log` (``from releasetool.log import log``),
which stands for the standard ``logging.getLogger("releasetool")`` and has the
methods the code uses.  Importing :mod:`logging` costs about 12 ms, a tenth of
what a quick command such as an incremental split takes in all, so :data:`log`
imports it only for a message that will be shown.  Once :mod:`logging` is
loaded (by a message, a library or pytest), every call goes straight to it,
so handlers and captured logs see the same records as before.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # mypy reads any name TYPE_CHECKING as true; typing stays unimported
if TYPE_CHECKING:
    import logging

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
NAME = "releasetool"


class Log:
    """A stand-in for the ``releasetool`` :class:`logging.Logger` that loads logging late."""

    def __init__(self) -> None:
        # The level the command line asked for; None when nobody configured it
        # (library use), in which case logging's own defaults decide.
        self._threshold: int | None = None
        self._handler_pending = False

    def configure(self, verbose: int = 0, quiet: bool = False) -> None:
        """Show DEBUG with ``verbose``, only WARNING and above with ``quiet``, else INFO."""
        self._threshold = WARNING if quiet else DEBUG if verbose else INFO
        self._handler_pending = True
        if "logging" in sys.modules:
            self._logger()

    def set_level(self, level: int) -> None:
        """Change the threshold of an already configured logger (as ``Logger.setLevel``)."""
        self._threshold = level
        if "logging" in sys.modules:
            self._logger().setLevel(level)

    def _logger(self) -> logging.Logger:  # a string annotation: logging is imported only when needed
        import logging

        logger = logging.getLogger(NAME)
        if self._handler_pending:
            # Bound to the stderr of the moment, as the handler the command set up
            # before logging was lazy (tests swap sys.stderr between commands).
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(message)s"))
            logger.handlers[:] = [handler]
            logger.propagate = False
            logger.setLevel(self._threshold or WARNING)
            self._handler_pending = False
        return logger

    def is_enabled_for(self, level: int) -> bool:
        if "logging" not in sys.modules and self._threshold is not None:
            return level >= self._threshold
        return bool(self._logger().isEnabledFor(level))

    def _log(self, level: int, msg: str, args: tuple[object, ...], exc_info: bool = False) -> None:
        if self._threshold is not None and level < self._threshold and "logging" not in sys.modules:
            return
        # stacklevel 3: the record names the caller of debug()/info(), not this module
        self._logger().log(level, msg, *args, exc_info=exc_info, stacklevel=3)

    def debug(self, msg: str, *args: object) -> None:
        self._log(DEBUG, msg, args)

    def info(self, msg: str, *args: object) -> None:
        self._log(INFO, msg, args)

    def warning(self, msg: str, *args: object) -> None:
        self._log(WARNING, msg, args)

    def error(self, msg: str, *args: object) -> None:
        self._log(ERROR, msg, args)

    def exception(self, msg: str, *args: object) -> None:
        self._log(ERROR, msg, args, exc_info=True)


log = Log()

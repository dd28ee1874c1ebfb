"""HTTP calls to an OBS API through osc's library, with retries that never duplicate.

osc reads the configuration (oscrc, credentials manager, cookie jar) and does
the authentication; this module adds what a release needs on top: idempotent
calls retried with backoff, non-idempotent ones (a commit, a request) retried
only after checking that the first attempt did not take effect, errors turned
into one line each, and credentials never shown (URLs are printed without
userinfo, osc's own messages are not passed through).
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from releasetool.errors import ObsAuthError, ObsConfigError, ObsError, ObsNotFound, ObsRefused, Transient
from releasetool.fsutil import text_file_problem
from releasetool.log import log

if TYPE_CHECKING:
    import urllib3

# A query string as osc's makeurl() builds it: one value per name, a list repeats the name.
Query = Mapping[str, str | int | Sequence[str]]
# Asked after a failed non-idempotent call: the answer the first attempt got
# (it went through), or None (it did not; send it again).
TookEffect = Callable[[], bytes | None]

# HTTP answers worth another try: a proxy or the API restarting.
TRANSIENT = (500, 502, 503, 504)


def mask_url(url: str) -> str:
    """The URL without any ``user:password@`` part."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


@dataclass
class Settings:
    """How to reach the Build Service (built from flags, environment and oscrc)."""

    apiurl: str | None = None
    config: str | None = None
    retries: int = 4
    backoff: float = 0.5
    timeout: float = 120.0  # seconds to wait for an answer before trying again


class Api:
    """One Build Service; thread-safe; counts the requests it sends.

    osc's configuration is process-wide: creating an Api loads its settings
    (config file, apiurl, credentials) for every Api of the process.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.apiurl = _configure(settings)
        # osc's pool keeps one idle connection; with parallel submissions
        # urllib3 opens more and says so on each return.  Nothing is lost.
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def user(self) -> str:
        """The user name osc logs in with for this apiurl (never the password)."""
        import osc.conf

        try:
            return str(osc.conf.config["api_host_options"][self.apiurl]["user"])
        except (KeyError, TypeError):
            return ""

    @property
    def shown_url(self) -> str:
        return mask_url(self.apiurl)

    def url(self, segments: list[str], query: Query | None = None) -> str:
        from osc.core import makeurl

        return str(makeurl(self.apiurl, segments, dict(query or {})))

    def _once(self, method: str, segments: list[str], query: Query | None, data: bytes | None) -> bytes:
        import urllib3
        from osc.connection import http_request

        with self._lock:
            self.counts[method] += 1
            self.counts["total"] += 1
        where = f"{method} /{'/'.join(segments)}"
        try:
            response = http_request(method, self.url(segments, query), data=data)
            self._set_timeout()
            return bytes(response.read())
        except urllib.error.HTTPError as exc:
            body = b""
            try:
                body = exc.read() or b""
            except Exception:
                pass
            code, summary = _status_of(body)
            if exc.code in TRANSIENT:
                raise Transient(f"{where}: HTTP {exc.code}{f' ({summary})' if summary else ''}") from None
            if exc.code == 401:
                raise ObsAuthError(
                    f"{self.shown_url} refused the credentials (HTTP 401 on {where})",
                    hint="check user and password for this apiurl in your oscrc (or --config FILE)") from None
            if exc.code == 403:
                raise ObsRefused(f"{self.shown_url} does not allow {where}: {summary or 'HTTP 403'}",
                               hint="ask the project maintainers for write access, or use --project "
                                    "with a project you own (e.g. home:USER)") from None
            if exc.code == 404:
                raise ObsNotFound(f"{where}: {summary or 'not found'} ({code or 'HTTP 404'})") from None
            problem = f"{self.shown_url} answered HTTP {exc.code} to {where}: {summary or exc.reason}"
            raise (ObsRefused if 400 <= exc.code < 500 else ObsError)(problem) from None
        except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError, OSError) as exc:
            self._set_timeout()
            raise Transient(f"{where}: {_connection_problem(exc)}") from None

    def _set_timeout(self) -> None:
        """Give osc's connection pool for this apiurl a read timeout (osc sets none).

        The pool exists once osc made the first request, so that one request
        waits as long as the system lets it.
        """
        import urllib3

        pool = osc_connection_pools().get(self.apiurl)
        if pool is not None:
            pool.timeout = urllib3.Timeout(connect=min(30.0, self.settings.timeout), read=self.settings.timeout)

    def call(self, method: str, segments: list[str], query: Query | None = None,
             data: bytes | None = None, *, idempotent: bool = True,
             took_effect: TookEffect | None = None) -> bytes:
        """Send a request; retry transient failures.

        A non-idempotent call is retried only when ``took_effect()`` (asked
        after the failure) returns a false value; when it returns something
        else, that value (bytes) is the answer: the first attempt went through.
        """
        attempts = max(1, self.settings.retries + 1)
        for attempt in range(1, attempts + 1):
            try:
                return self._once(method, segments, query, data)
            except Transient as exc:
                last = exc.what
                if not idempotent:
                    if took_effect is None:
                        raise ObsError(f"{self.shown_url}: {last}; not retried (the call is not idempotent)",
                                       hint="check the state on the server, then re-run") from None
                    effect = self._check(took_effect)
                    if effect:
                        log.info("obs: %s failed (%s) but had taken effect; not repeated", method, last)
                        return effect if isinstance(effect, bytes) else b""
                if attempt == attempts:
                    break
                delay = self.settings.backoff * (2 ** (attempt - 1))
                log.info("obs: %s; retrying in %.1fs (%d/%d)", last, delay, attempt, attempts - 1)
                time.sleep(delay)
        raise ObsError(f"{self.shown_url}: {last} (gave up after {attempts} attempts)",
                       hint="the Build Service is unreachable or failing; re-run the same command later, "
                            "it continues where it stopped")

    def _check(self, took_effect: TookEffect) -> bytes | None:
        # took_effect() reads through call(), which retries its own GETs.
        return took_effect()

    def get_xml(self, segments: list[str], query: Query | None = None) -> ET.Element:
        return parse_xml(self.call("GET", segments, query), f"/{'/'.join(segments)}")

    def exists(self, segments: list[str]) -> ET.Element | None:
        try:
            return self.get_xml(segments)
        except ObsNotFound:
            return None


def parse_xml(data: bytes, where: str) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise ObsError(f"{where}: the Build Service answered malformed XML ({exc})") from None


def _status_of(body: bytes) -> tuple[str, str]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return "", ""
    if root.tag != "status":
        return "", ""
    return root.get("code", ""), (root.findtext("summary") or "").strip()


def _connection_problem(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    reason = getattr(exc, "reason", None)
    if reason is not None:
        text = f"{type(reason).__name__}: {reason}"
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "reset" in lowered or "remotedisconnected" in lowered or "aborted" in lowered:
        return "connection reset"
    if "timed out" in lowered or "timeout" in lowered:
        return "timed out"
    return "connection failed"


_config_lock = threading.Lock()


def _configure(settings: Settings) -> str:
    """Load osc's configuration once and return the apiurl to use."""
    import configparser

    import osc.conf
    import osc.oscerr

    if settings.config:
        problem = text_file_problem(settings.config)
        if problem:
            raise ObsConfigError(f"osc configuration {settings.config}: {problem}",
                                 hint="give an oscrc: an INI text file with a section per apiurl")
    with _config_lock:
        try:
            osc.conf.get_config(override_conffile=settings.config, override_apiurl=settings.apiurl,
                                override_no_keyring=True)
        except UnicodeDecodeError as exc:
            raise ObsConfigError(f"the osc configuration is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                                 f"offset {exc.start})", hint="check it with `osc api /about`") from None
        except configparser.Error as exc:  # osc reads the file with configparser
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ObsConfigError(f"the osc configuration {settings.config or 'oscrc'} is not an INI file: {first}",
                                 hint="an oscrc has a [general] section and one [APIURL] section per server") from None
        except osc.oscerr.NoConfigfile as exc:
            raise ObsError(f"no osc configuration found ({getattr(exc, 'file', 'oscrc')})",
                           hint="create an oscrc (see `osc --help`) or pass --config FILE") from None
        except osc.oscerr.ConfigMissingApiurl as exc:
            raise ObsError(f"{mask_url(settings.apiurl or '?')} has no section in the osc configuration ({exc.file})",
                           hint="add a [APIURL] section with user and pass, or use --config FILE") from None
        except osc.oscerr.ConfigMissingCredentialsError as exc:
            raise ObsError(f"no user or password for {mask_url(settings.apiurl or '')} in the osc configuration "
                           f"({exc.file})",
                           hint="add user and pass to its section of the oscrc (or a credentials manager), "
                                "or set OSC_USERNAME and OSC_PASSWORD") from None
        except osc.oscerr.ConfigError as exc:
            # osc's message is a page of advice; its first sentence says what is wrong
            first = next((line for line in str(exc.msg).splitlines() if line.strip()), "incomplete")
            raise ObsConfigError(f"the osc configuration {exc.file} cannot be used: {first.strip()}",
                           hint="check it with `osc --config FILE api /about`") from None
        except osc.oscerr.OscBaseError as exc:
            raise ObsError(f"the osc configuration cannot be used ({type(exc).__name__})",
                           hint="check it with `osc --config FILE api /about`") from None
        apiurl = str(osc.conf.config["apiurl"])
        # Our own retries decide what may be repeated: urllib3's (which would
        # repeat a POST commit) are switched off for this apiurl.
        osc.conf.config["http_retries"] = 0
        osc_connection_pools().pop(apiurl, None)
    return apiurl


def osc_connection_pools() -> dict[str, urllib3.HTTPConnectionPool]:
    """osc's connection pool per apiurl, the one place that reaches into osc's internals.

    osc 1.x has no public call to give its connections a read timeout or to
    drop a pool built from an older configuration: ``osc.connection.http_request``
    builds the pool of an apiurl on its first request and keeps it in the
    module-level dict ``CONNECTION_POOLS``.  Checked against osc 1.28.0 (the
    floor in pyproject.toml); test_obs_client.py's
    test_osc_keeps_its_connection_pools_where_the_timeout_is_set fails when a
    newer osc moves or renames it, and a run stops here with one line.
    """
    import osc
    import osc.connection

    pools = getattr(osc.connection, "CONNECTION_POOLS", None)
    if not isinstance(pools, dict):
        raise ObsError(f"osc {getattr(osc, '__version__', '?')} keeps no connection pools in "
                       "osc.connection.CONNECTION_POOLS, where releasetool sets its timeouts",
                       hint="install the osc release releasetool is checked against: pip install 'osc==1.28.0'")
    return pools

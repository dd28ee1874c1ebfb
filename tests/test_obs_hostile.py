"""Random and mutated input to every parser of remote data in the OBS bridge: a message, never a traceback."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from obs_helpers import PASSWORD, USER, Service, start_service

from releasetool.errors import ReleasetoolError
from releasetool.obs import client
from releasetool.obs.api import _status_of, parse_xml
from releasetool.obs.service import faults
from releasetool.obs.service.store import repositories

XML_LIKE = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "replace")),
    st.sampled_from([b"<directory", b"<directory><entry name='a'/></directory>", b"<status code='x'>",
                     b"<project name='p'><repository name='r'><arch/></repository></project>"]),
)


@settings(max_examples=300, deadline=None)
@given(XML_LIKE)
def test_parse_xml_never_raises_anything_else(data: bytes) -> None:
    try:
        root = parse_xml(data, "/source/p")
    except ReleasetoolError as exc:
        assert exc.message.startswith("/source/p: the Build Service answered malformed XML")
    else:
        assert isinstance(root, ET.Element)


@settings(max_examples=300, deadline=None)
@given(XML_LIKE)
def test_status_and_repository_parsers_are_total(data: bytes) -> None:
    code, summary = _status_of(data)
    assert isinstance(code, str) and isinstance(summary, str)
    for repo in repositories(data):
        assert repo.family in ("rpm", "deb")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["debian/control", "debian/changelog", "debian/rules"]),
                       st.binary(max_size=200).map(lambda b: b.decode("latin-1").encode("utf-8"))))
def test_dsc_from_any_debian_text(debian: dict[str, bytes]) -> None:
    class Comp:
        name = "demo"
        version = "1.0"
        homepage = "https://example.org"

    dsc = client.debtransform_dsc(Comp(), debian, "demo-1.0.tar.gz").decode()
    assert dsc.endswith("DEBTRANSFORM-TAR: demo-1.0.tar.gz\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=200), st.recursive(
    st.one_of(st.none(), st.integers(), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12).map(json.dumps)))
def test_fault_plans_load_or_say_where(tmp_path: Path, text: str) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    try:
        faults.load_plan(plan)
    except ReleasetoolError as exc:
        assert str(plan) in exc.message


@pytest.mark.parametrize("member", ["../escape.txt", "/etc/passwd-copy", "hello-1.0/../../x"])
def test_builder_refuses_tarball_members_escaping(tmp_path: Path, member: str) -> None:
    import io
    import tarfile

    from releasetool.errors import BuildProblem
    from releasetool.obs.service.builder import _extract

    archive = tmp_path / "bad.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(BuildProblem, match="escapes the source directory"):
        _extract(archive, tmp_path / "out", strip=1, label="bad.tar.gz")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = start_service(tmp_path_factory.mktemp("hostile"))
    svc.service.store.set_project_meta("p", b'<project name="p"><title/><description/></project>')
    svc.service.store.set_package_meta("p", "k", b'<package name="k"><title/><description/></package>')
    yield svc
    svc.service.shutdown()
    svc.service.server_close()


ENDPOINTS = [("PUT", "/source/p/_meta"), ("PUT", "/source/p/k/_meta"),
             ("POST", "/source/p/k?cmd=commitfilelist"), ("POST", "/request?cmd=create"),
             ("PUT", "/source/p/k/some%2Ffile"), ("GET", "/source/p/k?rev=%00"), ("POST", "/build/p?cmd=rebuild")]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(ENDPOINTS), XML_LIKE)
def test_service_answers_any_body_without_a_server_error(service: Service, endpoint: tuple[str, str],
                                                         body: bytes) -> None:
    import base64
    import http.client

    host, port = service.service.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    conn.request(endpoint[0], endpoint[1], body=body, headers={"Authorization": f"Basic {auth}"})
    answer = conn.getresponse()
    data = answer.read()
    conn.close()
    assert answer.status < 500, data
    if answer.status >= 400:
        assert answer.getheader("X-Opensuse-Errorcode")

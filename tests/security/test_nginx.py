"""The TLS front for real: Debian's nginx with deploy/nginx/kiosk.conf, in front of ``kiosk run``.

The site is rendered and the certificates made by ``deploy/setup-nginx.sh`` itself (its
``render`` and ``cert`` steps), nginx runs in the foreground on free loopback ports and proxies
to a real ``kiosk run --sim``. Skipped when nginx is not installed (fails under CI=true:
``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.browser.server import LiveKiosk, free_port, start_kiosk

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "deploy" / "setup-nginx.sh"
NAMES = "kiosk.test 127.0.0.1"


def nginx_binary() -> str | None:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None and os.environ.get("CI") == "true":
        pytest.fail("nginx is not installed (.ci/run installs it): the TLS front is untested")
    return found


@dataclass
class Front:
    kiosk: LiveKiosk
    http_port: int
    https_port: int
    ca: Path

    def tls(self, host: str = "kiosk.test") -> ssl.SSLSocket:
        context = ssl.create_default_context(cafile=str(self.ca))
        raw = socket.create_connection(("127.0.0.1", self.https_port), timeout=10)
        return context.wrap_socket(raw, server_hostname=host)


def _nginx_conf(folder: Path, site: Path) -> Path:
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / name).mkdir()
    conf = folder / "nginx.conf"
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"{user}worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
        "events { worker_connections 512; }\nhttp {\n  access_log off;\n"
        # As Debian's /etc/nginx/nginx.conf does: the site must not set these a second time.
        "  ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;\n  ssl_prefer_server_ciphers on;\n"
        f"  client_body_temp_path {folder}/body;\n  proxy_temp_path {folder}/proxy;\n"
        f"  fastcgi_temp_path {folder}/fastcgi;\n  uwsgi_temp_path {folder}/uwsgi;\n"
        f"  scgi_temp_path {folder}/scgi;\n  include {site};\n}}\n",
        encoding="utf-8",
    )
    return conf


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    nginx = nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx)")
    folder = tmp_path_factory.mktemp("nginx")
    with ExitStack() as stack:
        live = start_kiosk(folder / "data", server={"local_port": free_port()})
        stack.callback(live.stop)
        http_port, https_port = free_port(), free_port()
        env = {
            **os.environ,
            "TLS_DIR": str(folder / "tls"),
            "SERVER_NAMES": NAMES,
            "UPSTREAM": f"127.0.0.1:{live.port}",
            "HTTP_PORT": f"127.0.0.1:{http_port}",
            "HTTPS_PORT": f"127.0.0.1:{https_port}",
        }
        site = folder / "kiosk-site.conf"
        subprocess.run([str(SETUP), "cert"], env=env, check=True, capture_output=True)
        subprocess.run([str(SETUP), "render", str(site)], env=env, check=True, capture_output=True)
        conf = _nginx_conf(folder, site)
        test = subprocess.run(
            [nginx, "-t", "-e", "stderr", "-c", str(conf)], capture_output=True, text=True
        )
        assert test.returncode == 0, test.stderr
        proc = subprocess.Popen(
            [nginx, "-e", "stderr", "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(proc.wait, 10)
        stack.callback(proc.terminate)
        result = Front(live, http_port, https_port, folder / "tls" / "kiosk-ca.crt")
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", https_port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "nginx did not start"
                time.sleep(0.1)
        yield result


def https(front: Front, path: str, **kwargs: object) -> requests.Response:
    return requests.request(
        str(kwargs.pop("method", "GET")),
        f"https://127.0.0.1:{front.https_port}{path}",
        verify=str(front.ca),
        timeout=10,
        **kwargs,  # type: ignore[arg-type]
    )


def test_tls_with_the_installers_certificate_reaches_the_kiosk(front: Front) -> None:
    res = https(front, "/healthz")
    assert res.status_code == 200 and res.json()["status"] in ("ok", "out_of_service")
    with front.tls("kiosk.test") as tls:  # the certificate names the host (SAN), verified
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: kiosk.test\r\nConnection: close\r\n\r\n")
        assert tls.recv(64).startswith(b"HTTP/1.1 200")
    # Plain HTTP moves to https, except the CA certificate officers' phones install.
    plain = requests.get(
        f"http://127.0.0.1:{front.http_port}/admin", allow_redirects=False, timeout=5
    )
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
    ca = requests.get(f"http://127.0.0.1:{front.http_port}/kiosk-ca.crt", timeout=5)
    assert ca.status_code == 200 and ca.content == front.ca.read_bytes()


def _no_answer(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    try:
        return sock.recv(4096)
    except ConnectionResetError:
        return b""


@pytest.mark.parametrize("host", ["evil.example", "attacker.rebind.test", "192.0.2.7"])
def test_a_host_not_on_the_list_gets_no_answer(front: Front, host: str) -> None:
    request = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    with front.tls("kiosk.test") as tls:
        assert _no_answer(tls, request) == b""  # 444: closed without a response
    with socket.create_connection(("127.0.0.1", front.http_port), timeout=10) as plain:
        assert _no_answer(plain, request) == b""


def test_bodies_are_capped_per_route(front: Front) -> None:
    big = b"x" * (200 * 1024)
    res = https(front, "/api/sim/present", method="POST", data=big)
    assert res.status_code == 413
    # The enrolment upload may be large: nginx passes it on (the kiosk refuses the anonymous
    # caller itself, without reading the body).
    res = https(
        front,
        "/admin/staff/enroll",
        method="POST",
        data=big * 5,
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        allow_redirects=False,
    )
    assert res.status_code != 413 and res.status_code < 500


def test_slowloris_against_nginx_leaves_the_kiosk_answering(front: Front) -> None:
    kiosk_health = f"{front.kiosk.url}/healthz"
    with ExitStack() as stack:
        for _ in range(120):  # half-open requests: one header line, then nothing
            sock = stack.enter_context(
                socket.create_connection(("127.0.0.1", front.http_port), timeout=10)
            )
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: kiosk.test\r\n")
        started = time.monotonic()
        assert requests.get(kiosk_health, timeout=2).status_code == 200
        assert time.monotonic() - started < 2
        assert https(front, "/healthz").status_code == 200
        # nginx drops a client that stops sending headers (client_header_timeout 10 s).
        sock.settimeout(20)
        started = time.monotonic()
        try:
            data = sock.recv(4096)
        except ConnectionResetError:
            data = b""
        assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:40]
        assert time.monotonic() - started < 15

"""Real servers on 127.0.0.1 for the notifier tests: SMTP (aiosmtpd) and HTTP."""

from __future__ import annotations

import email
import email.policy
import json
import os
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from autocron_notify import _settings, env


@pytest.fixture(autouse=True)
def clean_notify_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AUTOCRON_SMTP_* or webhook variable leaks in from the developer's shell; warnings reset."""
    for variable in (*env.SMTP_VARIABLES.values(), env.AUTOCRON_WEBHOOK_URL):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(_settings, "_warned", set())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Tls:
    """A private CA (trustme) and a server certificate for 127.0.0.1."""

    ca_file: str
    server_context: ssl.SSLContext


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A self-signed CA made for this test run, and a server context using its certificate."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return Tls(str(path), server_context)


@dataclass
class SmtpServer:
    """A running aiosmtpd server and what it received."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    def texts(self) -> list[str]:
        """Subject and plain-text body of each message, decoded."""
        out = []
        for message in self.messages:
            body = message.get_body(("plain",))
            out.append(f"{message['Subject']}\n{body.get_content() if body is not None else ''}")
        return out


SmtpFactory = Callable[..., SmtpServer]


@pytest.fixture
def smtp_factory(tls: Tls) -> Iterator[SmtpFactory]:
    """Start aiosmtpd servers: ``smtp_factory(mode="plain"|"starttls"|"implicit", users={...})``."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    controllers: list[Any] = []

    def start(mode: str = "plain", users: dict[str, str] | None = None) -> SmtpServer:
        server = SmtpServer(free_port())
        lock = threading.Lock()

        class Handler:
            async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
                parsed = email.message_from_bytes(
                    envelope.original_content or envelope.content, policy=email.policy.default
                )
                with lock:
                    server.envelopes.append(envelope)
                    server.messages.append(parsed)  # type: ignore[arg-type]
                return "250 OK"

        def authenticate(
            _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and users is not None
                and users.get(data.login.decode()) == data.password.decode()
            )
            if ok:
                server.logins.append(data.login.decode())
            return AuthResult(success=ok, handled=False)

        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": server.port}
        if mode == "starttls":
            kwargs.update(tls_context=tls.server_context, require_starttls=True)
        elif mode == "implicit":
            kwargs.update(ssl_context=tls.server_context)
        if users is not None:
            # aiosmtpd counts only STARTTLS as TLS; an implicit-TLS connection is TLS from the first byte.
            kwargs.update(authenticator=authenticate, auth_require_tls=mode == "starttls", auth_required=True)
        controller = Controller(Handler(), **kwargs)
        controller.start()
        controllers.append(controller)
        return server

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(smtp_factory: SmtpFactory) -> SmtpServer:
    """A plain SMTP server without login."""
    return smtp_factory()


@dataclass
class HttpServer:
    """A running HTTP server, the requests it got and the statuses it will answer."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def bodies(self) -> list[str]:
        """Each request body as text."""
        return [r["body"].decode("utf-8") for r in self.requests]

    def json(self, index: int = -1) -> Any:
        """One request body, parsed."""
        return json.loads(self.requests[index]["body"])


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    """An HTTP server on 127.0.0.1 in a thread; set ``statuses`` to answer e.g. 500 first (default 200)."""
    lock = threading.Lock()
    state = HttpServer("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                state.requests.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                )
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            if status in (301, 302):
                self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_: Any) -> None:  # keep test output quiet
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/hooks/SECRET-PATH-123"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


@pytest.fixture
def stub_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder first on PATH holding a ``notify-send`` that records its argv as JSON lines."""
    folder = tmp_path / "bin"
    folder.mkdir()
    record = tmp_path / "notify-send.calls"
    script = folder / "notify-send"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"with open({str(record)!r}, 'a', encoding='utf-8') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return folder


@pytest.fixture
def stub_calls(stub_bin: Path) -> Callable[[], list[list[str]]]:
    """The argv of each call the stub ``notify-send`` received so far."""
    record = stub_bin.parent / "notify-send.calls"

    def calls() -> list[list[str]]:
        if not record.exists():
            return []
        return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]

    return calls


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    return free_port()

"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, collecting what it receives.

aiosmtpd's Controller cannot be given ``port=0`` (its readiness check connects to the port it was
given), so a free port is found by binding one first.

Fixtures:
  ``smtp_server``  a running ``SmtpServer``; ``.port``, ``.messages`` (``ReceivedMail`` list,
                   decoded with the email package so tests compare Chinese text directly),
                   ``.wait_for(n)``, ``.stop()`` / ``.start()``, ``.app_config()``
  ``smtp_factory`` ``smtp_factory(port=None, start=True)`` for servers that start later, e.g. to
                   show that mail queued while the server was down goes out once it is up.
Loaded as a pytest plugin from pytest.ini.
"""
import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest

from tests.support.components import require


def free_port(host="127.0.0.1"):
    """A TCP port nobody listens on right now (also used as 'the server is down')."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list
    message: email.message.EmailMessage
    raw: bytes = field(repr=False)

    @property
    def subject(self):
        return str(self.message["Subject"])

    @property
    def to(self):
        return str(self.message["To"])

    @property
    def sender(self):
        return str(self.message["From"])

    @property
    def body(self):
        part = self.message.get_body(preferencelist=("plain",))
        # SMTP carries CRLF line ends inside the encoded body; a mail client shows plain lines.
        return part.get_content().replace("\r\n", "\n")

    def header(self, name):
        value = self.message[name]
        return None if value is None else str(value)


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_DATA(self, smtp_server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(
                ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port=None, host="127.0.0.1"):
        self.host = host
        self.port = port or free_port(host)
        self.messages = []
        self.lock = threading.Lock()
        self.controller = None

    def start(self):
        from aiosmtpd.controller import Controller

        # decode_data=False keeps the bytes as sent, so 8-bit and encoded headers are checked as
        # a real mail server would see them.
        self.controller = Controller(_Handler(self), hostname=self.host, port=self.port,
                                     ready_timeout=10)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def running(self):
        return self.controller is not None

    def wait_for(self, count, timeout=5.0):
        """Wait until ``count`` messages arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        with self.lock:
            return list(self.messages)

    def app_config(self):
        """Config overrides pointing Flask-Mail at this server."""
        return {"MAIL_SERVER": self.host, "MAIL_PORT": self.port, "MAIL_USE_TLS": False,
                "MAIL_USE_SSL": False, "MAIL_USERNAME": None, "MAIL_PASSWORD": None,
                "MAIL_SUPPRESS_SEND": False, "MAIL_TIMEOUT": 5}


def _need_aiosmtpd():
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        require("aiosmtpd", False, "Install it with `pip install aiosmtpd` (requirements-dev.txt).")


@pytest.fixture
def smtp_factory():
    _need_aiosmtpd()
    servers = []

    def make(port=None, start=True):
        server = SmtpServer(port=port)
        servers.append(server)
        return server.start() if start else server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(smtp_factory):
    return smtp_factory()

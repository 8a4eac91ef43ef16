"""The HTTPS side of the test GCS emulator: a CONNECT proxy that terminates TLS and relays plain HTTP.

Why it exists: TensorFlow's built-in GCS filesystem (the one ``tf.io.gfile`` and TFX's ``fileio``
use) has no emulator setting; it always calls ``https://www.googleapis.com/storage/v1/`` and
``https://storage.googleapis.com``. It does honour ``https_proxy`` and ``CURL_CA_BUNDLE``, so this
proxy accepts the CONNECT, presents a certificate for those names signed by a throwaway test CA,
reads each request and sends it to the emulator on 127.0.0.1 over plain HTTP.

While relaying it normalises what TF's libcurl sends and a Go HTTP server refuses or mis-stores
(measured with TF 2.16.2 against fake-gcs-server 1.5x):

- a body framed with ``Transfer-Encoding: chunked`` (also sent next to a ``Content-Length``) is
  decoded and forwarded with a plain ``Content-Length`` (Go answers 501 "Unsupported transfer
  encoding" to curl's upload framing, and TF retries ten times with back-off);
- ``Expect: 100-continue`` is answered at once (curl otherwise waits 1 s per upload);
- the resumable-upload ``Location`` the emulator returns (its own http://127.0.0.1 URL) is
  rewritten to the host the client asked for, so the follow-up PUT comes back through the proxy.

It also answers ``POST /token`` in plain HTTP: the OAuth token endpoint named by the test's
application-default credentials, so google-auth (Beam's GCS IO) gets a token at once instead of
retrying the metadata server for ~20 s per process.

Run as ``python -m tests.support.gcs_proxy --port P --upstream 127.0.0.1:E --cert C --key K``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, urlunsplit

# Headers that describe one hop, never forwarded (RFC 9110 section 7.6.1), plus the framing we redo.
_HOP_HEADERS = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade", "expect", "content-length", "host",
}
TOKEN_PATH = "/token"
BATCH_PATH = "/batch/storage/v1"
_BOUNDARY = "emulator_batch_boundary"


def _origin_form(target: str) -> str:
    """``/path?query`` of a request target that may be in absolute form (``http://host/path``)."""
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        return urlunsplit(("", "", parts.path or "/", parts.query, ""))
    return target


class _Relay(BaseHTTPRequestHandler):
    """Reads requests (plain, or inside a CONNECT tunnel once TLS is up) and relays them upstream."""

    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """Quiet unless GCS_PROXY_LOG is set: the emulator's traffic is not test output."""
        if os.environ.get("GCS_PROXY_LOG"):
            super().log_message(format, *args)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _relay(self) -> None:
        if self.path == TOKEN_PATH and self.command == "POST":
            self._read_body()
            self._reply(200, {"Content-Type": "application/json"}, json.dumps(
                {"access_token": "emulator-test-token", "token_type": "Bearer", "expires_in": 3600}
            ).encode())
            return
        body = self._read_body()
        path = _origin_form(self.path)
        if path.startswith(BATCH_PATH):
            content_type, payload = self.server.batch(self.headers.get("Content-Type", ""), body)
            self._reply(200, {"Content-Type": content_type}, payload)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        # fake-gcs-server serves path-style downloads (``/bucket/object``) only to its public host
        # (storage.googleapis.com), so the host the client asked for is kept.
        headers["Host"] = self.headers.get("Host", self.server.upstream)
        status, out, payload = self.server.forward(self.command, path, headers, body)
        location = out.pop("Location", None) or out.pop("location", None)
        if location:
            if self.server.tunnelled(self) and location.startswith("http://"):
                # The emulator names itself in plain HTTP; the client must come back through the tunnel.
                target = urlsplit(location)
                location = urlunsplit(("https", self.headers.get("Host", target.netloc), target.path,
                                       target.query, target.fragment))
            out["Location"] = location
        self._reply(status, out, payload,
                    declared_length=out.pop("_length", None) if self.command == "HEAD" else None)

    def _reply(self, status: int, headers: dict[str, str], payload: bytes,
               declared_length: str | None = None) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", declared_length or str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _relay

    def do_CONNECT(self) -> None:
        """Accept the tunnel, then speak TLS as the requested Google host and serve requests inside."""
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        try:
            tls = self.server.tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        _Relay(tls, self.client_address, self.server)
        self.close_connection = True


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, upstream: str, tls: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", port), _Relay)
        self.upstream = upstream
        self.tls = tls

    @staticmethod
    def tunnelled(handler: BaseHTTPRequestHandler) -> bool:
        return isinstance(handler.connection, ssl.SSLSocket)

    def forward(self, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], bytes]:
        """One request to the emulator with a plain ``Content-Length``: (status, headers, body)."""
        if body or method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        upstream = http.client.HTTPConnection(self.upstream, timeout=120)
        try:
            upstream.request(method, path, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
            out = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_HEADERS}
            out["_length"] = response.getheader("Content-Length") or str(len(payload))
        finally:
            upstream.close()
        if method != "HEAD":
            out.pop("_length")
        return response.status, out, payload

    def batch(self, content_type: str, body: bytes) -> tuple[str, bytes]:
        """Runs a JSON-API batch (multipart/mixed of HTTP requests) one by one; fake-gcs-server has none.

        google-cloud-storage sends Beam's deletes and copies as batches (FileSystems.rename/delete).
        """
        message = BytesParser().parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        parts = []
        for index, part in enumerate(message.get_payload()):
            raw = part.get_payload(decode=False)
            raw = raw if isinstance(raw, str) else raw[0].as_string()
            head, _, sub_body = raw.replace("\r\n", "\n").partition("\n\n")
            request_line, *header_lines = head.split("\n")
            method, uri, _ = request_line.split(" ", 2)
            headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
            headers = {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}
            headers["Host"] = self.upstream
            status, out, payload = self.forward(method, _origin_form(uri), headers, sub_body.encode())
            reason = http.client.responses.get(status, "")
            lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in out.items()]
            lines.append(f"Content-Length: {len(payload)}")
            parts.append(
                f"--{_BOUNDARY}\r\nContent-Type: application/http\r\n"
                f"Content-ID: <response-{str(part.get('Content-ID', index)).strip('<>')}>\r\n\r\n"
                + "\r\n".join(lines) + "\r\n\r\n" + payload.decode("utf-8", "replace") + "\r\n")
        text = "".join(parts) + f"--{_BOUNDARY}--\r\n"
        return f"multipart/mixed; boundary={_BOUNDARY}", text.encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="host:port of the emulator's plain HTTP side")
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(args.cert, args.key)
    _ProxyServer(args.port, args.upstream, tls).serve_forever()


if __name__ == "__main__":
    main()

"""Hostile input, odd terminals, signals, proxies, certificates and secrets."""

import os
import signal
import stat
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import urlsplit

import pexpect
import pytest

from tests.conftest import KEY, OTCHAT, clean_environ
from tests.fakeserver import Stream, error, text_chunks


def test_fifty_megabytes_of_stdin_are_refused_before_they_are_read(server, home):
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY)
    proc = subprocess.Popen([str(OTCHAT), "summarise"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    accepted = 0
    block = b"x" * 65536
    try:
        while accepted < 50 * 1024 * 1024:
            proc.stdin.write(block)
            accepted += len(block)
    except BrokenPipeError:
        pass
    try:
        proc.stdin.close()
    except BrokenPipeError:
        pass
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert proc.wait(timeout=30) == 2 and out == b""
    assert b"max_input_bytes (10 MiB, about 2,621,440 tokens)" in err
    assert accepted < 12 * 1024 * 1024  # it stopped reading at the limit
    assert server.requests == []


@pytest.mark.process  # LANG/LC_ALL set the interpreter's stdio encoding at start
@pytest.mark.parametrize("extra", [{"LANG": "C", "LC_ALL": "C"}, {"COLUMNS": "20"}, {"NO_COLOR": "1"},
                                   {"TERM": "dumb"}])
def test_odd_environments_still_stream_exactly(otchat, server, extra):
    text = "Grüße — 日本 — ✓ a long line that is much wider than twenty columns"
    server.enqueue(Stream(text_chunks(text, 3)))
    r = otchat("hi", env=extra)
    assert (r.code, r.stdout) == (0, text + "\n")


@pytest.mark.parametrize("extra", [{"NO_COLOR": "1"}, {"COLUMNS": "20"}, {"LANG": "C", "LC_ALL": "C"}])
def test_odd_terminals_render(server, home, extra):
    server.enqueue(Stream(text_chunks("# Heading\n\nSome **bold** words in a paragraph.\n", 3)))
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY, TERM="xterm-256color", **extra)
    child = pexpect.spawn(str(OTCHAT), ["hi"], env=env, dimensions=(30, int(extra.get("COLUMNS", 80))), timeout=20)
    raw = child.read()
    child.close()
    assert child.exitstatus == 0 and b"Heading" in raw and b"**" not in raw
    if "NO_COLOR" in extra:
        assert b"\x1b[3" not in raw and b"\x1b[9" not in raw  # no foreground colours


def test_ctrl_c_during_a_retry_wait_ends_at_once(server, home):
    server.enqueue(error(503, {"error": "busy"}, {"Retry-After": "30"}))
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY)
    proc = subprocess.Popen([str(OTCHAT), "hi"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # now in the 30-second wait
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert proc.returncode == 130 and time.monotonic() - start < 2
    assert len(server.requests) == 1


class ForwardProxy(BaseHTTPRequestHandler):
    """A minimal HTTP proxy: forwards absolute-URI requests and counts them."""

    seen: ClassVar[list[str]] = []  # shared: the server makes a handler per request

    def log_message(self, *args):
        pass

    def do_POST(self):
        import http.client

        ForwardProxy.seen.append(self.path)
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        upstream.request("POST", target.path, body, headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        self.send_response(response.status)
        self.send_header("Content-Type", response.getheader("content-type", "text/plain"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def proxy():
    ForwardProxy.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ForwardProxy)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.process  # httpx/urllib read the proxies from the process environment
def test_http_proxy_is_honoured_and_no_proxy_bypasses_it(otchat, server, proxy):
    r = otchat("via the proxy", env={"HTTP_PROXY": proxy, "NO_PROXY": ""})
    assert r.code == 0 and r.stdout == "You said: via the proxy\n"
    assert ForwardProxy.seen == [f"{server.url}/chat/completions"]
    r = otchat("direct", env={"HTTP_PROXY": proxy, "NO_PROXY": "127.0.0.1"})
    assert r.code == 0 and len(ForwardProxy.seen) == 1


@pytest.mark.process  # ssl reads SSL_CERT_FILE from the process environment
def test_untrusted_certificate_then_ssl_cert_file_and_ca_bundle(otchat, home, tls_server):
    server, cert = tls_server
    r = otchat("hi", env={"OTCHAT_BASE_URL": server.url}, expect=6)
    assert r.code == 6 and "not trusted" in r.stderr and "SSL_CERT_FILE" in r.stderr
    assert len(r.stderr.splitlines()) == 1
    r = otchat("hi", env={"OTCHAT_BASE_URL": server.url, "SSL_CERT_FILE": str(cert)})
    assert (r.code, r.stdout) == (0, "You said: hi\n")
    (home / "config" / "config.toml").write_text(f'ca_bundle = "{cert}"\n')
    r = otchat("again", env={"OTCHAT_BASE_URL": server.url})
    assert (r.code, r.stdout) == (0, "You said: again\n")


@pytest.mark.process  # ssl reads SSL_CERT_FILE from the process environment
def test_ca_bundle_replaces_ssl_cert_file_which_replaces_the_system_store(otchat, home, tls_server, tmp_path):
    """Each source of trust replaces the next, never adds to it: ca_bundle > SSL_CERT_FILE > the system's."""
    server, cert = tls_server
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other",
                    "-keyout", str(tmp_path / "other.key"), "-out", str(other)], check=True, capture_output=True)
    config = home / "config" / "config.toml"
    env = {"OTCHAT_BASE_URL": server.url}
    config.write_text(f'ca_bundle = "{other}"\n')  # the server's CA only in SSL_CERT_FILE: not trusted
    assert "not trusted" in otchat("hi", env={**env, "SSL_CERT_FILE": str(cert)}, expect=6).stderr
    config.write_text(f'ca_bundle = "{cert}"\n')  # the server's CA in ca_bundle: trusted, whatever else
    assert otchat("hi", env={**env, "SSL_CERT_FILE": str(other)}).stdout == "You said: hi\n"
    config.write_text("")
    assert "not trusted" in otchat("hi", env={**env, "SSL_CERT_FILE": str(other)}, expect=6).stderr
    assert otchat("hi", env={**env, "SSL_CERT_FILE": str(cert)}).stdout == "You said: hi\n"


def test_created_directories_and_files_are_private(otchat, home, tmp_path):
    data, config = tmp_path / "fresh-data", tmp_path / "fresh-config"
    env = {"OTCHAT_DATA_DIR": str(data), "OTCHAT_CONFIG_DIR": str(config)}
    assert otchat("hello", env=env).code == 0
    assert otchat("auth", "login", input=KEY, env=env).code == 0
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(config / "credentials").st_mode) == 0o600


def test_the_key_is_nowhere(otchat, home, server):
    """A sentinel key through every mode: outputs (the runner checks), files, history, -v."""
    runs = [["hi"], ["-v", "hi"], ["--json", "hi"], ["--format", "jsonl", "hi"], ["--dry-run", "-v", "hi"],
            ["-u", "hi"], ["--traceback", "hi"], ["-c", "more"], ["chat"], ["models", "-v", "--refresh"],
            ["auth", "status"], ["config", "set", "model", "x"], ["config", "list"], ["history", "list"],
            ["history", "search", "hi"], ["mcp", "list"]]
    for args in runs:
        otchat(*args, input="hello\n" if args == ["chat"] else b"")
    server.enqueue(error(401, {"error": {"message": f"bad key {KEY}"}}))
    assert otchat("hi", expect=3).code == 3
    for path in [p for p in home.rglob("*") if p.is_file()]:
        assert KEY.encode() not in path.read_bytes(), path

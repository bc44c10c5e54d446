"""digitgen serve against slow, idle and hostile clients: a real server process on loopback, raw
sockets for the clients a library would not let us be."""

import http.client
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

import pytest

pytest.importorskip("uvicorn")

from digitgen.serve_protocol import AcceptErrorLog, bind_listener  # noqa: E402
from tests.helpers import free_port, server  # noqa: E402


def get(port, path, timeout=30):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def closed_by_server(sock, within):
    """True when the server closes (or resets) the connection within `within` seconds."""
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except (TimeoutError, socket.timeout):
        return False


def test_the_listening_socket_is_tcp_so_connections_get_nodelay():
    listener = bind_listener("127.0.0.1", 0)
    with listener:
        assert listener.proto == socket.IPPROTO_TCP  # asyncio sets TCP_NODELAY on such sockets' connections


def test_kept_alive_requests_are_as_quick_as_fresh_ones():
    with server() as (port, _):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        times = []
        for _ in range(30):
            start = time.perf_counter()
            connection.request("GET", "/health")
            connection.getresponse().read()
            times.append(time.perf_counter() - start)
        connection.close()
    # without TCP_NODELAY each one waits ~40 ms on a delayed ACK (measured 44 ms; 0.6 ms with it)
    assert statistics.median(times) < 0.02, times


def test_idle_and_slow_header_connections_are_closed_after_the_client_timeout():
    with server("--client-timeout", "1") as (port, process):
        silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(10)]
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(10)]
        for sock in slow:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        for sock in silent + slow:
            assert closed_by_server(sock, within=5)
            sock.close()
        assert get(port, "/health")[0] == 200


def test_a_client_that_does_not_read_loses_its_answer_and_its_slot():
    # one worker, no queue: while the stalled answer holds the only slot, others are refused
    with server("--client-timeout", "3", "--workers", "1", "--queue", "0") as (port, process):
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", port))
        stalled.sendall(b"GET /labeled?n=6000&seed=1 HTTP/1.1\r\nHost: x\r\n\r\n")  # ~15 MB of JSON, unread
        answer_started(stalled)
        assert get(port, "/digits?n=1")[0] == 503  # the slot is held while the answer waits on its reader
        time.sleep(4.5)  # past the client timeout: the connection and its answer are dropped
        assert get(port, "/digits?n=1")[0] == 200
        stalled.close()


def answer_started(sock, within=60):
    """Wait until the first bytes of the server's answer have arrived (they are left unread)."""
    sock.settimeout(within)
    assert sock.recv(1, socket.MSG_PEEK) == b"H"


def test_sigterm_exits_within_seconds_with_stalled_clients_connected():
    with server("--client-timeout", "30") as (port, process):
        stalled = []
        for _ in range(2):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.sendall(b"GET /labeled?n=3000&seed=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            stalled.append(sock)
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        for sock in stalled:
            answer_started(sock)  # the answers are made and wait on their readers
        start = time.time()
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
        assert time.time() - start < 8  # was 35 s
        for sock in stalled + idle:
            sock.close()


def test_beyond_max_connections_an_idle_one_makes_room():
    with server("--max-connections", "8", "--client-timeout", "60") as (port, process):
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        time.sleep(0.5)
        assert get(port, "/health", timeout=5)[0] == 200
        closed = sum(closed_by_server(sock, within=0.2) for sock in idle)
        assert closed >= 12
        for sock in idle:
            sock.close()


def test_too_few_open_files_for_max_connections_is_one_line():
    import resource

    def few_files():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    port = free_port()
    result = subprocess.run([sys.executable, "-m", "digitgen", "serve", "--port", str(port)], capture_output=True,
                            text=True, timeout=60, preexec_fn=few_files)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "--max-connections 1000 needs more open files than the limit of 256" in result.stderr


def test_accept_errors_are_one_line_per_interval(caplog):
    class Loop:
        def default_exception_handler(self, context):
            raise AssertionError("only accept errors are handled here")

    log = AcceptErrorLog(every=60)
    error = OSError(24, "Too many open files")
    with caplog.at_level(logging.WARNING, logger="uvicorn.error"):
        for _ in range(1000):
            log(Loop(), {"message": "socket.accept() out of system resource", "exception": error})
    assert len(caplog.records) == 1 and "\n" not in caplog.records[0].getMessage()
    assert "Too many open files" in caplog.records[0].getMessage()


@pytest.mark.parametrize("path", [
    "/digits?seed=" + "x" * 100_000,
    "/digits?" + "y" * 100_000 + "=1",
    "/number/" + "z" * 10_000,
    "/digits?seed=" + "9" * 5000,
])
def test_errors_quote_a_short_prefix_of_the_input(path):
    with server() as (port, process):
        status, headers, body = get(port, path)
        assert status == 400 and len(body) < 300, body[:300]
        if "9999" in path:
            assert b"seed must be an integer from 0" in body and b"sys.set_int_max_str_digits" not in body


def test_405_has_allow_and_a_malformed_body_is_one_log_line():
    with server() as (port, process):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/digits")
        response = connection.getresponse()
        assert response.status == 405 and set(response.getheader("Allow").split(", ")) == {"GET", "HEAD"}
        connection.close()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400") or answer.startswith(b"HTTP/1.1 200"), answer
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        process.wait(20)
        log = process.stdout.read()
        assert "Traceback" not in log and "Exception in ASGI" not in log, log
        assert log.count("Invalid HTTP request") <= 1


def test_the_page_at_root_and_info_without_the_install_path():
    with server() as (port, process):
        status, headers, body = get(port, "/")
        assert status == 200 and headers["content-type"].startswith("text/html")
        page = body.decode()
        assert "<form" in page and "/digits?" in page and "digitgen --n" in page
        assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page  # no external assets
        status, _, body = get(port, "/info")
        assert status == 200 and os.sep + "digitgen" + os.sep not in body.decode()
        assert b'"model":"generator.onnx"' in body.replace(b" ", b"")


def test_serve_help_says_threads_default_to_one_a_request():
    result = subprocess.run([sys.executable, "-m", "digitgen", "serve", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert "default: 1 a request" in " ".join(result.stdout.split())

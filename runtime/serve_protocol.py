"""The guards uvicorn's h11 protocol lacks against slow, idle and hostile clients, and the
listening socket and log that go with them. Used by `digitgen serve` (the `serve` extra).

uvicorn closes a kept-alive connection after timeout_keep_alive, but nothing else: a connection
that never sends a request, or sends its headers a byte at a time, or asks for a large answer and
never reads it, stays open (and holds its response in memory) for as long as the client likes.
Each guard below is a timer on the connection: headers must arrive within header_timeout, a
paused write (the client's window full) must resume within write_timeout, and a connection still
paused shutdown_timeout after a shutdown began is dropped, so SIGTERM ends in seconds whatever
the clients do (a request still computing gets the server's --timeout).
"""

import asyncio
import logging
import socket
import time

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger("uvicorn.error")


def guarded_protocol(header_timeout, write_timeout, max_connections):
    """uvicorn's H11Protocol with these limits (uvicorn builds one per connection, from a class)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {
        "header_timeout": header_timeout, "write_timeout": write_timeout, "max_connections": max_connections})


class GuardedH11Protocol(H11Protocol):
    header_timeout = 10.0  # seconds from connection (or the last response) to a request's full headers
    write_timeout = 10.0  # seconds a paused write may wait for the client to read
    max_connections = 1000  # open connections; a new one beyond closes an idle one, or itself
    shutdown_timeout = 3.0  # seconds a connection may finish its response once a shutdown began

    guard = None  # the one timer armed at a time
    closing_down = False

    def connection_made(self, transport):
        super().connection_made(transport)
        self._arm(self.header_timeout, self._close_quietly)
        if len(self.connections) > self.max_connections:
            idle = next((c for c in self.connections if c is not self and c._idle()), None)
            (idle or self)._close_quietly()

    def data_received(self, data):
        waiting = self.cycle is None or self.cycle.response_complete
        super().data_received(data)
        if waiting and self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # a request's headers are in: the app has the connection now

    def on_response_complete(self):
        super().on_response_complete()  # arms uvicorn's keep-alive timer for the idle wait
        if self._idle():  # (no pipelined request started meanwhile)
            self._arm(self.header_timeout, self._close_quietly)  # and this one for slow headers after it

    def send_400_response(self, msg):
        """uvicorn answers a malformed request 400 and closes; a request already handed to the
        app (its headers were fine, its body is not) is marked disconnected, so the app's answer
        is dropped instead of failing on the closed connection with a traceback in the log."""
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        super().send_400_response(msg)

    def pause_writing(self):
        super().pause_writing()
        self._arm(self.shutdown_timeout if self.closing_down else self.write_timeout, self._abort)

    def resume_writing(self):
        super().resume_writing()
        self._disarm()

    def shutdown(self):
        """uvicorn's graceful shutdown (idle connections close at once, a request in progress
        finishes: its work is bounded by the server's own timeout), with a client that does not
        read its answer given shutdown_timeout, not write_timeout."""
        self.closing_down = True
        super().shutdown()
        if self.flow.write_paused:
            self._arm(self.shutdown_timeout, self._abort)

    def connection_lost(self, exc):
        self._disarm()
        super().connection_lost(exc)

    def _idle(self):
        return (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing()

    def _arm(self, seconds, action):
        self._disarm()
        self.guard = self.loop.call_later(seconds, action)

    def _disarm(self):
        if self.guard is not None:
            self.guard.cancel()
            self.guard = None

    def _close_quietly(self):
        if not self.transport.is_closing():
            if self.conn.our_state in (h11.IDLE, h11.DONE):
                self.conn.send(h11.ConnectionClosed())
            self.transport.close()

    def _abort(self):
        """Drop the connection and its unsent bytes: a client that does not read frees its memory."""
        self.transport.abort()


def bind_listener(host, port, backlog=2048):
    """The listening socket, made with IPPROTO_TCP: asyncio sets TCP_NODELAY only on connections of
    such a socket (socket.create_server makes proto 0), and without it a kept-alive client waits
    for its delayed ACK (~40 ms) between uvicorn's header and body writes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(backlog)
    except OSError:
        listener.close()
        raise
    return listener


def raise_open_file_limit(wanted=65536):
    """The soft limit of open files raised toward the hard one (a shell's or systemd's soft 1,024
    would otherwise cap connections below max_connections); returns the limit in force."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


class AcceptErrorLog:
    """A loop exception handler: asyncio logs a traceback each time accept() fails for want of
    file descriptors (about 2 MiB/s under a flood); this logs one line at most every `every` s."""

    def __init__(self, every=10.0):
        self.every, self.last, self.dropped = every, -float("inf"), 0

    def __call__(self, loop, context):
        if not str(context.get("message", "")).startswith("socket.accept() out of system resource"):
            loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if now - self.last < self.every:
            self.dropped += 1
            return
        error = context.get("exception")
        more = f" ({self.dropped} more since the last line)" if self.dropped else ""
        logger.warning(f"cannot accept connections: {getattr(error, 'strerror', None) or error}{more}; "
                       "raise the open-file limit (ulimit -n) or lower --max-connections")
        self.last, self.dropped = now, 0


def install_accept_error_log():
    asyncio.get_running_loop().set_exception_handler(AcceptErrorLog())

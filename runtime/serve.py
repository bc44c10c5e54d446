"""`digitgen serve`: the generator over HTTP, on Starlette and uvicorn (the `serve` extra).

One DigitGenerator serves every request. Inference and encoding run in a pool of worker threads,
never on the event loop; requests beyond the workers wait in a queue of bounded depth, and one
that finds it full is answered 503 with Retry-After at once. A request keeps its place until its
answer has been written out, so at most workers + queue answers are held in memory, however
slowly clients read. A request that takes longer than the timeout is answered 504 (its work
still finishes and still counts against the queue, so the bound holds). Slow, idle and hostile
connections are digitgen.serve_protocol's business.
"""

import asyncio
import contextlib
import io
import json
import os
import platform
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from digitgen import __version__
from digitgen.backends import ModelError
from digitgen.generator import random_seed
from digitgen.images import MAX_N, MAX_SCALE, grid_layout, npy_bytes, png_bytes
from digitgen.messages import first_line, quote
from digitgen.serve_page import home_page
from digitgen.validation import check_number, integer_from_text

SEED_HEADER = "X-Digitgen-Seed"
MEDIA_TYPES = {"png": "image/png", "npy": "application/octet-stream", "npz": "application/octet-stream",
               "json": "application/json"}


class BadRequest(Exception):
    """A request the client must change: 400 with the message."""


class Busy(Exception):
    """The queue is full: 503."""


class InferencePool:
    """Worker threads and a bounded count of admitted requests: waiting, running, or sending
    their answer. A request's slot is given back when its work has ended (even after a 504) and
    its answer has been written out (or its connection dropped), so at most workers + queue
    answers are held in memory at once, however slowly clients read them."""

    def __init__(self, workers, queue_depth, timeout):
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="digitgen")
        self.workers, self.queue_depth = workers, queue_depth
        self.limit = workers + queue_depth
        self.timeout = timeout
        self.admitted = 0  # only touched on the event loop's thread

    async def run(self, work):
        """(the work's result, its Slot): the caller gives the slot back once the result is sent."""
        if self.admitted >= self.limit:
            raise Busy(f"busy: {self.admitted} requests in progress or waiting; retry shortly")
        slot = Slot(self)
        future = asyncio.get_running_loop().run_in_executor(self.executor, work)
        future.add_done_callback(slot.work_ended)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout), slot
        except TimeoutError:
            slot.release()
            raise HTTPException(504, f"the request took longer than {self.timeout:g} s") from None
        except BaseException:
            slot.release()
            raise

    def close(self):
        """Queued work is dropped; running work is left to finish on its threads."""
        self.executor.shutdown(wait=False, cancel_futures=True)


class Slot:
    """One admitted request: held by its work and by its answer, free when both are done."""

    def __init__(self, pool):
        self.pool, self.holders = pool, 2
        pool.admitted += 1

    def work_ended(self, future):
        if not future.cancelled():
            future.exception()  # retrieved: a failure after a timeout is not logged as unhandled
        self.release()

    def release(self):
        self.holders -= 1
        if self.holders == 0:
            self.pool.admitted -= 1


class HeldResponse(Response):
    """A finished body written in pieces, each after the client has taken the last (uvicorn's
    flow control), its Slot given back when the body is out or the connection gone."""

    piece = 65536

    def __init__(self, body, slot, **kwargs):
        super().__init__(body, **kwargs)
        self.slot = slot

    async def __call__(self, scope, receive, send):
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            body = memoryview(self.body)
            for start in range(0, max(len(body), 1), self.piece):
                more = start + self.piece < len(body)
                await send({"type": "http.response.body", "body": bytes(body[start : start + self.piece]),
                            "more_body": more})
        finally:
            self.slot.release()


def create_app(generator, workers=None, queue_depth=64, timeout=30.0, install_accept_error_log=None):
    """The ASGI app around one DigitGenerator; the handlers below find it, and the pool, in
    app.state. install_accept_error_log: called on the server's loop at start-up (digitgen
    serve's one-line log of accept errors)."""
    app = Starlette(routes=ROUTES, exception_handlers=ERROR_HANDLERS, lifespan=lifespan)
    app.state.generator = generator
    app.state.pool = InferencePool(workers or os.cpu_count() or 1, queue_depth, timeout)
    app.state.install_accept_error_log = install_accept_error_log
    return app


@contextlib.asynccontextmanager
async def lifespan(app):
    if app.state.install_accept_error_log is not None:
        app.state.install_accept_error_log()
    yield
    app.state.pool.close()  # after uvicorn has drained the requests in flight


async def digits(request):
    generator, pool = request.app.state.generator, request.app.state.pool
    query = Query(request, {"n", "seed", "digit", "cols", "scale", "format"})
    n = query.integer("n", 16, 1, MAX_N)
    seed, digit = query.seed(), query.optional_integer("digit", 0, 9)
    cols, scale = query.optional_integer("cols", 1, MAX_N), query.integer("scale", 1, 1, MAX_SCALE)
    fmt = query.choice("format", ("png", "npy"))
    # checked here, before admission, so a bad request never takes a worker's slot
    if fmt == "png":
        grid_layout(n, cols, scale)  # ValueError: 400
    if digit is not None and not generator.conditional:
        raise BadRequest("this model is unconditional: it cannot be asked for a digit")

    def work():
        images = generator.generate(n, seed, digit)
        return png_bytes(images, cols=cols, scale=scale) if fmt == "png" else npy_bytes(images)

    return _binary(*await pool.run(work), fmt, seed)


async def number(request):
    generator, pool = request.app.state.generator, request.app.state.pool
    query = Query(request, {"seed", "scale"})
    text = check_number(request.path_params["number"])  # ValueError: 400
    if not generator.conditional:
        raise BadRequest("this model is unconditional: it cannot write a chosen number")
    seed, scale = query.seed(), query.integer("scale", 1, 1, MAX_SCALE)  # 64 digits at 32x: 63 MP
    return _binary(*await pool.run(lambda: png_bytes(generator.number(text, seed), cols=len(text), scale=scale)),
                   "png", seed)


async def labeled(request):
    generator, pool = request.app.state.generator, request.app.state.pool
    query = Query(request, {"n", "seed", "digit", "format"})
    n, seed = query.integer("n", 16, 1, MAX_N), query.seed()
    digit, fmt = query.optional_integer("digit", 0, 9), query.choice("format", ("json", "npz"))
    if not generator.conditional:
        raise BadRequest("this model is unconditional: its digits have no labels")

    def work():
        images, labels = generator.generate_labeled(n, seed, digit)
        if fmt == "npz":
            buffer = io.BytesIO()
            np.savez(buffer, x=images, y=labels)  # uncompressed: digits barely compress, time does
            return buffer.getvalue()
        return json.dumps({"seed": seed, "labels": labels.tolist(), "images": images.tolist()},
                          separators=(",", ":")).encode()

    return _binary(*await pool.run(work), fmt, seed)


async def info(request):
    generator, pool = request.app.state.generator, request.app.state.pool
    Query(request, set())
    import starlette
    import uvicorn

    return JSONResponse({
        # the model's file name, not its path: clients need not know where the server is installed
        "digitgen": __version__, "model": generator.model_path.name, "backend": generator.backend,
        "backend_version": generator.engine.version,
        "conditional": generator.conditional, "latent_dim": generator.latent_dim,
        "manifest": generator.manifest,
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "starlette": starlette.__version__,
                     "uvicorn": uvicorn.__version__},
        "limits": {"n": MAX_N, "scale": MAX_SCALE, "workers": pool.workers, "queue": pool.queue_depth,
                   "timeout_s": pool.timeout},
    })


async def health(request):
    return JSONResponse({"status": "ok"})


async def home(request):
    Query(request, set())
    return HTMLResponse(home_page(request.app.state.generator.conditional, MAX_N, MAX_SCALE))


async def bad_request(request, error):
    return _error(400, str(error))


async def busy(request, error):
    return _error(503, str(error), {"Retry-After": "1"})


async def http_error(request, error):  # its headers kept: a 405's Allow among them
    detail = error.detail if error.status_code != 404 else f"not found: {quote(request.url.path, as_repr=False)}"
    return _error(error.status_code, detail, error.headers)


async def model_error(request, error):
    return _error(500, str(error))


async def unexpected(request, error):
    print(f"error: {request.url.path}: {type(error).__name__}: {error}", flush=True)
    return _error(500, f"internal error ({type(error).__name__})")


ROUTES = [Route("/", home), Route("/digits", digits), Route("/number/{number}", number), Route("/labeled", labeled),
          Route("/info", info), Route("/health", health)]
ERROR_HANDLERS = {BadRequest: bad_request, Busy: busy, HTTPException: http_error, ModelError: model_error,
                  ValueError: bad_request, Exception: unexpected}


class Query:
    """The query string, checked as the CLI checks its options; unknown names are refused."""

    def __init__(self, request, allowed):
        self.params = request.query_params
        unknown = sorted(set(self.params) - allowed)
        if unknown:
            known = f": use {', '.join(sorted(allowed))}" if allowed else ""
            raise BadRequest(f"unknown parameter {quote(unknown[0])}{known}")

    def optional_integer(self, name, low, high):
        text = self.params.get(name)
        return None if text is None else integer_from_text(text, name, low, high)  # ValueError: 400

    def integer(self, name, default, low, high):
        value = self.optional_integer(name, low, high)
        return default if value is None else value

    def seed(self):
        """The seed asked for, or a fresh one (answered in the X-Digitgen-Seed header)."""
        value = self.optional_integer("seed", 0, 2**63 - 1)
        return random_seed() if value is None else value

    def choice(self, name, choices):
        value = self.params.get(name, choices[0])
        if value not in choices:
            raise BadRequest(f"{name} must be one of {', '.join(choices)}, got {quote(value)}")
        return value


def _binary(body, slot, fmt, seed):
    return HeldResponse(body, slot, media_type=MEDIA_TYPES[fmt], headers={SEED_HEADER: str(seed)})


def _error(status, message, headers=None):
    return JSONResponse({"error": first_line(message, default="error")}, status_code=status, headers=headers)

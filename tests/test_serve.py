"""digitgen serve: endpoints, bad requests, the 503 path, graceful shutdown, the CLI's bytes."""

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("starlette", reason="digitgen serve's extra: pip install 'digitgen-mnist[serve]'")
from starlette.testclient import TestClient  # noqa: E402

from digitgen import DigitGenerator  # noqa: E402
from digitgen.cli import cli  # noqa: E402
from digitgen.serve import SEED_HEADER, create_app  # noqa: E402
from tests.helpers import free_port  # noqa: E402
from tests.onnx_models import tiny_generator  # noqa: E402


@pytest.fixture(scope="module")
def bundled():
    return DigitGenerator(threads=1)


@pytest.fixture(scope="module")
def client(bundled):
    with TestClient(create_app(bundled, workers=2)) as test_client:
        yield test_client


def test_digits_are_the_cli_bytes_and_carry_their_seed(client, tmp_path):
    response = client.get("/digits", params={"seed": 42, "n": 16})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.headers[SEED_HEADER] == "42"
    assert CliRunner().invoke(cli, ["--seed", "42", "--n", "16", "--out", str(tmp_path / "d.png")]).exit_code == 0
    assert response.content == (tmp_path / "d.png").read_bytes()

    options = {"seed": 3, "n": 6, "digit": 7, "cols": 2, "scale": 2}
    assert CliRunner().invoke(cli, [f"--{k}={v}" for k, v in options.items()] + ["--out", str(tmp_path / "e.png")]).exit_code == 0
    assert client.get("/digits", params=options).content == (tmp_path / "e.png").read_bytes()


def test_a_random_request_can_be_repeated_from_its_seed(client):
    first = client.get("/digits", params={"n": 4, "format": "npy"})
    seed = int(first.headers[SEED_HEADER])
    again = client.get("/digits", params={"n": 4, "format": "npy", "seed": seed})
    assert first.content == again.content
    images = np.load(io.BytesIO(first.content))
    assert images.shape == (4, 28, 28) and images.dtype == np.uint8


def test_number_labeled_info_and_health(client, bundled, tmp_path):
    number = client.get("/number/2026", params={"seed": 4, "scale": 2})
    assert number.status_code == 200 and number.headers[SEED_HEADER] == "4"
    CliRunner().invoke(cli, ["--number", "2026", "--seed", "4", "--scale", "2", "--out", str(tmp_path / "n.png")])
    assert number.content == (tmp_path / "n.png").read_bytes()

    batch = client.get("/labeled", params={"n": 5, "seed": 9}).json()
    images, labels = bundled.generate_labeled(5, seed=9)
    assert batch["seed"] == 9 and batch["labels"] == labels.tolist() and batch["images"] == images.tolist()
    archive = np.load(io.BytesIO(client.get("/labeled", params={"n": 5, "seed": 9, "format": "npz"}).content))
    np.testing.assert_array_equal(archive["x"], images)
    np.testing.assert_array_equal(archive["y"], labels)

    info = client.get("/info").json()
    assert info["conditional"] and info["manifest"]["latent_dim"] == 100 and "uvicorn" in info["versions"]
    assert info["backend"] == "onnx" and info["backend_version"] == bundled.engine.version
    assert client.get("/health").json() == {"status": "ok"}


@pytest.mark.parametrize("path, params, status, message", [
    ("/digits", {"n": 0}, 400, "n must be an integer from 1 to 10000"),
    ("/digits", {"n": 10001}, 400, "from 1 to 10000"),
    ("/digits", {"n": "ten"}, 400, "n must be an integer"),
    ("/digits", {"digit": 10}, 400, "digit must be"),
    ("/digits", {"seed": -1}, 400, "seed must be"),
    ("/digits", {"format": "gif"}, 400, "format must be one of png, npy"),
    ("/digits", {"n": 10000, "scale": 32}, 400, "megapixel limit"),
    ("/digits", {"colour": 1}, 400, "unknown parameter 'colour'"),
    ("/number/12a4", {}, 400, "digits 0-9"),
    ("/number/" + "1" * 65, {}, 400, "at most 64 digits"),
    ("/labeled", {"format": "csv"}, 400, "format must be one of json, npz"),
    ("/nowhere", {}, 404, "not found: /nowhere"),
])
def test_a_bad_request_is_a_one_line_json_error(client, path, params, status, message):
    response = client.get(path, params=params)
    assert response.status_code == status and response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert message in error and "\n" not in error and "Traceback" not in response.text


def test_an_unconditional_model_refuses_digits_numbers_and_labels(tmp_path):
    plain = DigitGenerator(model=tiny_generator(tmp_path / "u.onnx", conditional=False))
    with TestClient(create_app(plain, workers=1)) as plain_client:
        assert plain_client.get("/digits", params={"n": 2}).status_code == 200
        for path, params in (("/digits", {"digit": 3}), ("/number/12", {}), ("/labeled", {})):
            response = plain_client.get(path, params=params)
            assert response.status_code == 400 and "unconditional" in response.json()["error"]


class SlowGenerator:
    """A generator whose calls wait for a gate: requests pile up as under load."""

    conditional = True

    def __init__(self, generator):
        self.generator, self.gate = generator, threading.Event()

    def generate(self, *args):
        self.gate.wait(10)
        return self.generator.generate(*args)


def test_a_full_queue_answers_503_with_retry_after_and_recovers(bundled):
    slow = SlowGenerator(bundled)
    app = create_app(slow, workers=1, queue_depth=1)
    with TestClient(app) as slow_client:
        results = []
        threads = [threading.Thread(target=lambda: results.append(slow_client.get("/digits", params={"n": 1, "seed": 1})))
                   for _ in range(2)]  # one running, one waiting: the queue is full
        for thread in threads:
            thread.start()
        deadline = time.time() + 10
        while app.state.pool.admitted < 2 and time.time() < deadline:
            time.sleep(0.01)
        refused = slow_client.get("/digits", params={"n": 1})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert "busy" in refused.json()["error"]
        slow.gate.set()
        for thread in threads:
            thread.join()
        assert [r.status_code for r in results] == [200, 200]
        assert slow_client.get("/digits", params={"n": 1}).status_code == 200  # the slots were released
        assert app.state.pool.admitted == 0


def test_a_request_over_the_timeout_is_504_and_its_slot_comes_back(bundled):
    slow = SlowGenerator(bundled)
    app = create_app(slow, workers=1, queue_depth=0, timeout=0.2)
    with TestClient(app) as slow_client:
        response = slow_client.get("/digits", params={"n": 1})
        assert response.status_code == 504 and "longer than 0.2 s" in response.json()["error"]
        slow.gate.set()
        deadline = time.time() + 10
        while app.state.pool.admitted and time.time() < deadline:
            time.sleep(0.01)
        assert slow_client.get("/digits", params={"n": 1}).status_code == 200


def test_sigterm_finishes_the_request_in_flight_then_exits_0(tmp_path):
    import httpx2 as httpx

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "digitgen", "serve", "--port", str(port), "--workers", "1",
                               "--timeout", "120"],  # a loaded machine must not turn it into a 504
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                if time.time() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        result = {}
        # a large request (10,000 digits as a PNG), in flight when SIGTERM arrives
        request = threading.Thread(target=lambda: result.update(
            response=httpx.get(f"{url}/digits", params={"n": 10000, "seed": 1}, timeout=60)))
        request.start()
        time.sleep(0.3)
        server.send_signal(signal.SIGTERM)
        request.join(60)
        assert result["response"].status_code == 200
        assert result["response"].content[:4] == b"\x89PNG"
        assert server.wait(30) == 0
        log = server.stdout.read()
        assert "Traceback" not in log and "Finished server process" in log
    finally:
        if server.poll() is None:
            server.kill()


def test_serve_without_its_extra_is_one_line(tmp_path):
    blocker = tmp_path / "uvicorn.py"  # a uvicorn that cannot be imported: as without the extra
    blocker.write_text("raise ImportError('no uvicorn here')\n")
    result = subprocess.run([sys.executable, "-m", "digitgen", "serve"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(tmp_path)}, timeout=60)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "pip install 'digitgen-mnist[serve]'" in result.stderr


def test_a_port_in_use_is_one_line_and_exit_1():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "digitgen", "serve", "--port", str(port)],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: Address already in use")
    assert result.stderr.strip().count("\n") == 0

"""`digitgen serve` under load, on loopback: requests/s and p50/p99 latency of 16-digit PNGs at 1, 8
and 32 concurrent clients, beside the raw DigitGenerator rate measured in the same run; then a long
run of requests with its errors and the server's resident memory after the first 100 and after all.
First, the slow and idle clients: keep-alive against fresh connections, memory with clients that
do not read their answers, and SIGTERM's time with them connected.

    python -m benchmarks.serve [--seconds 5] [--requests 10000] [--hostile-only]   (serve and dev extras)
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx

from digitgen import DigitGenerator
from digitgen.images import png_bytes

DIGITS = 16


def raw_rate(workers, seconds):
    """16-digit PNGs per second straight from DigitGenerator (generate + PNG encoding), with
    `workers` threads side by side as the server's pool runs them, one inference thread each."""
    generator = DigitGenerator(threads=1)
    png_bytes(generator.generate(DIGITS, 0))

    def loop(offset):
        calls, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            png_bytes(generator.generate(DIGITS, offset + calls))
            calls += 1
        return calls

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        total = sum(pool.map(loop, [i * 1_000_000 for i in range(workers)]))
    return total / (time.perf_counter() - start)


def resident_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


async def load(url, clients, seconds=None, requests=None):
    """Latencies (s) of 200s, and counts of 503s and other failures, with `clients` concurrent
    clients, until `seconds` pass or `requests` are sent."""
    latencies, busy, failures, sent = [], 0, 0, 0
    end = time.perf_counter() + seconds if seconds else None
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        async def one_client(index):
            nonlocal busy, failures, sent
            while (end is None or time.perf_counter() < end) and (requests is None or sent < requests):
                sent += 1
                start = time.perf_counter()
                try:
                    response = await client.get("/digits", params={"n": DIGITS, "seed": sent})
                except httpx.HTTPError:
                    failures += 1
                    continue
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - start)
                elif response.status_code == 503:
                    busy += 1
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")) / 10)
                else:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(one_client(i) for i in range(clients)))
        elapsed = time.perf_counter() - started
    return latencies, busy, failures, elapsed


def keep_alive_vs_fresh(port, requests=30):
    """Median ms of GET /health on one kept-alive connection, and on a fresh connection each."""
    import http.client

    def timed(connection):
        start = time.perf_counter()
        connection.request("GET", "/health")
        connection.getresponse().read()
        return time.perf_counter() - start

    kept = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    kept_times = [timed(kept) for _ in range(requests)]
    kept.close()
    fresh_times = []
    for _ in range(requests):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        fresh_times.append(timed(connection))
        connection.close()
    return statistics.median(kept_times) * 1000, statistics.median(fresh_times) * 1000


def stalled_readers(port, count, n=6000):
    """`count` connections that ask for /labeled?n=6000 (about 15 MB of JSON) and read nothing;
    returns them once every answer has started to arrive."""
    sockets = []
    for index in range(count):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET /labeled?n={n}&seed={index} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sockets.append(sock)
    for sock in sockets:
        sock.settimeout(120)
        sock.recv(1, socket.MSG_PEEK)
    return sockets


def hostile_clients(client_timeout=10.0):
    """Keep-alive against fresh connections; the server's memory with 0-6 clients that do not
    read their answers, and after the client timeout; how long SIGTERM takes with them connected."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "digitgen", "serve", "--port", str(port), "--no-access-log",
                               "--client-timeout", str(client_timeout)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{port}")
        kept, fresh = keep_alive_vs_fresh(port)
        print(f"GET /health, median of 30: {kept:.2f} ms on one kept-alive connection, {fresh:.2f} ms on fresh ones")
        for count in (0, 2, 4, 6):
            sockets = stalled_readers(port, count)
            held = resident_mib(server.pid)
            time.sleep(client_timeout + 2)
            print(f"  {count} clients not reading /labeled?n=6000: server {held:6.1f} MiB while they hold their "
                  f"answers, {resident_mib(server.pid):6.1f} MiB {client_timeout + 2:g} s later (dropped)")
            for sock in sockets:
                sock.close()
        sockets = stalled_readers(port, 2)
        start = time.perf_counter()
        server.terminate()
        server.wait(60)
        print(f"  SIGTERM with 2 clients not reading: exited in {time.perf_counter() - start:.1f} s")
        for sock in sockets:
            sock.close()
    finally:
        if server.poll() is None:
            server.kill()


def wait_until_up(url):
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per concurrency level")
    parser.add_argument("--requests", type=int, default=10_000, help="the long run's requests")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--hostile-only", action="store_true", help="only the slow and idle clients' part")
    args = parser.parse_args()
    hostile_clients()
    if args.hostile_only:
        return

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "digitgen", "serve", "--port", str(port), "--no-access-log",
                               "--workers", str(args.workers)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url)
        raw = raw_rate(args.workers, args.seconds)
        print(f"raw DigitGenerator: {raw:7.1f} PNGs of {DIGITS} digits/s ({args.workers} threads, one inference "
              f"thread each)")
        print(f"digitgen serve, {args.workers} workers, loopback, GET /digits?n={DIGITS}&seed=...")
        for clients in (1, 8, 32):
            latencies, busy, failures, elapsed = asyncio.run(load(url, clients, seconds=args.seconds))
            cut = statistics.quantiles(latencies, n=100)
            print(f"  {clients:2d} clients: {len(latencies) / elapsed:7.1f} requests/s "
                  f"({len(latencies) / elapsed / raw:.2f} of raw), p50 {cut[49] * 1000:6.1f} ms, "
                  f"p99 {cut[98] * 1000:6.1f} ms, 503s {busy}, errors {failures}")
        asyncio.run(load(url, 8, requests=100))
        after_100 = resident_mib(server.pid)
        latencies, busy, failures, elapsed = asyncio.run(load(url, 32, requests=args.requests))
        after_all = resident_mib(server.pid)
        print(f"long run: {args.requests} requests from 32 clients in {elapsed:.0f} s: {len(latencies)} answered "
              f"200, {busy} answered 503 (queue full, retried), {failures} errors")
        print(f"  server resident memory: {after_100:.1f} MiB after the first 100 requests, {after_all:.1f} MiB "
              f"after {args.requests + 100} ({after_all - after_100:+.1f} MiB)")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()

"""`digitgen serve` under load, on loopback: requests/s and p50/p99 latency of 16-digit PNGs at 1, 8
and 32 concurrent clients, beside the raw DigitGenerator rate measured in the same run; then a long
run of requests with its errors and the server's resident memory after the first 100 and after all.

    python -m benchmarks.serve [--seconds 5] [--requests 10000]     (needs the serve and dev extras)
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


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per concurrency level")
    parser.add_argument("--requests", type=int, default=10_000, help="the long run's requests")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "digitgen", "serve", "--port", str(port), "--no-access-log",
                               "--workers", str(args.workers)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
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

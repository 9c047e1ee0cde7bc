#!/usr/bin/env python3
"""Idle keep-alive connections plus slow downloads against one server, with a probe request
timed throughout and the server's peak RSS sampled. Loopback only, bounded in count and time.

  slow_clients.py PORT PID[,PID…] DOWNLOAD_PATH PROBE_PATH IDLE DOWNLOADS RATE_BYTES SECONDS

Prints one JSON object. Every idle connection first completes one request (so it is a real
kept-alive connection), then sends nothing; every download reads at most RATE_BYTES per second.
"""
import asyncio
import json
import multiprocessing
import socket
import statistics
import sys
import time

HOST = "127.0.0.1"


def rss_mib(pids, field):
    """The sum of `field` over the processes (nginx serves from several workers)."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(field):
                        total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass
    return total


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return status, length


def request(path, close=False):
    extra = "Connection: close\r\n" if close else ""
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{extra}\r\n".encode()


def probe_once(port, path):
    """Milliseconds from connecting to the last byte of one request, on a fresh connection."""
    t0 = time.monotonic()
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(request(path, close=True))
        data = b""
        while True:
            piece = s.recv(65536)
            if not piece:
                break
            data += piece
    if not data.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(data[:40])
    return (time.monotonic() - t0) * 1000


def probe_loop(port, path, seconds, pipe):
    """One probe every 100 ms for `seconds`; sends (latencies, failures) back."""
    probes, errors, end = [], 0, time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            probes.append(probe_once(port, path))
        except Exception:
            errors += 1
        time.sleep(0.1)
    pipe.send((probes, errors))


async def main():
    port, pids, download, probe_path = int(sys.argv[1]), [int(p) for p in sys.argv[2].split(",")], sys.argv[3], sys.argv[4]
    idle_n, down_n, rate, seconds = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8])
    stop = asyncio.Event()
    stats = {"idle_open": 0, "idle_closed_early": 0, "downloading": 0, "download_errors": 0, "bytes": 0}
    peak = [0.0]

    async def idle():
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(request(probe_path))
            status, length = await read_head(reader)
            await reader.readexactly(length or 0)
            if status != 200:
                raise RuntimeError(status)
        except Exception:
            stats["idle_closed_early"] += 1
            return
        stats["idle_open"] += 1
        closed = asyncio.ensure_future(reader.read(1))
        stopped = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({closed, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if closed in done:
            stats["idle_closed_early"] += 1
        closed.cancel()
        stopped.cancel()
        writer.close()

    async def slow_download():
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(request(download, close=True))
            status, _ = await read_head(reader)
            if status != 200:
                raise RuntimeError(status)
            stats["downloading"] += 1
            start, got, piece = time.monotonic(), 0, 16384
            while not stop.is_set():
                data = await reader.read(piece)
                if not data:
                    raise RuntimeError("closed")
                got += len(data)
                stats["bytes"] += len(data)
                ahead = got / rate - (time.monotonic() - start)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            writer.close()
        except Exception:
            stats["download_errors"] += 1

    async def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mib(pids, "VmRSS:"))
            await asyncio.sleep(0.2)

    sampler = asyncio.ensure_future(sample())
    tasks = []
    # Opened in batches, so the listen backlog is never the bottleneck being measured.
    for i in range(0, idle_n, 250):
        batch = [asyncio.ensure_future(idle()) for _ in range(min(250, idle_n - i))]
        tasks += batch
        await asyncio.sleep(0.05)
    for i in range(0, down_n, 100):
        tasks += [asyncio.ensure_future(slow_download()) for _ in range(min(100, down_n - i))]
        await asyncio.sleep(0.05)
    await asyncio.sleep(1)
    # The probe runs in its own process: this event loop, busy with 11,000 sockets, would
    # otherwise add its own delays to what is measured.
    spawn = multiprocessing.get_context("spawn")  # not fork: it would inherit 11,000 sockets
    parent, child = spawn.Pipe()
    prober = spawn.Process(target=probe_loop, args=(port, probe_path, seconds, child))
    prober.start()
    while not parent.poll():
        await asyncio.sleep(0.2)
    probes, probe_errors = parent.recv()
    prober.join()
    held = dict(stats)
    stop.set()
    await asyncio.wait(tasks, timeout=10)
    sampler.cancel()
    probes.sort()
    print(json.dumps({
        **held,
        "probes": len(probes),
        "probe_errors": probe_errors,
        "probe_p50_ms": round(statistics.median(probes), 2) if probes else None,
        "probe_p99_ms": round(probes[int(len(probes) * 0.99) - 1], 2) if probes else None,
        "probe_max_ms": round(probes[-1], 2) if probes else None,
        "peak_rss_mib": round(max(peak[0], rss_mib(pids, "VmHWM:")), 1),
        "mib_per_s": round(held["bytes"] / 1048576 / (seconds + 1), 1),
    }))


if __name__ == "__main__":
    asyncio.run(main())

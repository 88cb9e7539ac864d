#!/usr/bin/env python3
"""A TCP forwarder that delays every byte by a fixed time in each direction, so
the benchmark's loopback targets behave like servers RTT milliseconds away
(this machine's kernel has no netem). Started by bench.py for BENCH_RTT_MS.

    delay_proxy.py --one-way-ms 25 --map 40001=10.214.0.2:22 --map 40002=…

Listens on 127.0.0.1:<port> for each --map and forwards to its target. Data read
at time t is written at t + one-way delay, in order, whatever arrives meanwhile:
a pipe with latency, not a rate limit. A new connection reaches the target one
round trip after it was accepted, as TCP's handshake would take. Prints "ready"
once every port listens.
"""

import argparse
import asyncio
import collections
import signal
import time


async def pump(reader, writer, delay):
    """Copies reader to writer, each chunk held until `delay` after it was read."""
    queue = collections.deque()
    wake = asyncio.Event()
    done = False

    async def send():
        while True:
            while not queue:
                if done:
                    return
                wake.clear()
                await wake.wait()
            due, data = queue.popleft()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                writer.write_eof() if writer.can_write_eof() else writer.close()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(65536)
            queue.append((time.monotonic() + delay, data or None))
            wake.set()
            if not data:
                break
    except (ConnectionError, OSError):
        queue.append((time.monotonic() + delay, None))
        wake.set()
    done = True
    wake.set()
    try:
        await sender
    except (ConnectionError, OSError):
        pass


async def handle(client_r, client_w, target, delay):
    host, port = target
    # The client's connect returned at once (the proxy is on loopback); a real
    # one costs a round trip before the server sees it (TCP's handshake).
    await asyncio.sleep(2 * delay)
    try:
        server_r, server_w = await asyncio.open_connection(host, port)
    except OSError:
        client_w.close()
        return
    await asyncio.gather(pump(client_r, server_w, delay), pump(server_r, client_w, delay))
    for w in (client_w, server_w):
        w.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--one-way-ms", type=float, required=True)
    ap.add_argument("--map", action="append", default=[], help="LISTEN_PORT=HOST:PORT")
    args = ap.parse_args()
    delay = args.one_way_ms / 1000.0
    servers = []
    for m in args.map:
        listen, target = m.split("=", 1)
        host, port = target.rsplit(":", 1)
        servers.append(await asyncio.start_server(
            lambda r, w, t=(host, int(port)): handle(r, w, t, delay),
            "127.0.0.1", int(listen), backlog=512))
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for s in servers:
        s.close()


if __name__ == "__main__":
    asyncio.run(main())

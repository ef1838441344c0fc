"""The Python side of the bulk stream benchmark (stream.mjs).

    python3 stream_echo.py asyncio|uvloop MESSAGE_BYTES DEPTH WARMUP DURATION RUNS

One loop, one loopback TCP connection: an echo server (a Protocol that
writes back every byte it receives) and a client that keeps DEPTH messages
of MESSAGE_BYTES in flight, replacing each one that has come back whole,
for DURATION seconds on the loop's clock, then waits for what is still in
flight. The same shape as scaling.mjs's stream cell. After a WARMUP run,
RUNS measured runs; prints one JSON line {"status": "ok", "measured":
[{"messages", "seconds", "cpuSeconds"}]} where cpuSeconds is the process's
CPU time (user + system, every thread) over the run. With
$EVLOOP_BENCH_TCP_CONGESTION set (cubic, reno, bbr, ...), both ends of the
connection use that congestion control instead of the system's default.
"""
import asyncio
import gc
import json
import os
import socket
import sys
import time

HOST = "127.0.0.1"
CONGESTION = os.environ.get("EVLOOP_BENCH_TCP_CONGESTION", "")


def set_congestion_control(transport):
    if CONGESTION:
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, CONGESTION.encode())


class EchoServer(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        set_congestion_control(transport)

    def data_received(self, data):
        self.transport.write(data)


class EchoClient(asyncio.Protocol):
    def __init__(self, loop, message, depth):
        self.loop = loop
        self.message = message
        self.size = len(message)
        self.depth = depth
        self.sent = 0
        self.received = 0
        self.deadline = 0.0
        self.finishing = False
        self.finished = None

    def connection_made(self, transport):
        self.transport = transport
        set_congestion_control(transport)

    def start(self, seconds):
        self.sent = 0
        self.received = 0
        self.finishing = False
        self.deadline = self.loop.time() + seconds
        self.finished = self.loop.create_future()
        self.fill()
        return self.finished

    def fill(self):
        while self.sent - self.received // self.size < self.depth:
            self.transport.write(self.message)
            self.sent += 1

    def data_received(self, data):
        self.received += len(data)
        if not self.finishing and self.loop.time() >= self.deadline:
            self.finishing = True
        if not self.finishing:
            self.fill()
        elif self.received == self.sent * self.size:
            self.finished.set_result(self.sent)


async def run(loop, message_bytes, depth, warmup, duration, runs):
    server = await loop.create_server(EchoServer, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    message = b"a" * message_bytes
    transport, client = await loop.create_connection(lambda: EchoClient(loop, message, depth), HOST, port)
    await client.start(warmup)
    measured = []
    for _ in range(runs):
        gc.collect()
        cpu_before = time.process_time()
        started = loop.time()
        messages = await client.start(duration)
        seconds = loop.time() - started
        measured.append({"messages": messages, "seconds": seconds, "cpuSeconds": time.process_time() - cpu_before})
    transport.close()
    server.close()
    await server.wait_closed()
    return measured


def main():
    if len(sys.argv) != 7 or sys.argv[1] not in ("asyncio", "uvloop"):
        print("usage: stream_echo.py asyncio|uvloop MESSAGE_BYTES DEPTH WARMUP DURATION RUNS", file=sys.stderr)
        sys.exit(2)
    impl = sys.argv[1]
    if CONGESTION:
        # A name the kernel refuses is reported here, not from inside connection_made.
        with socket.socket() as probe:
            try:
                probe.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, CONGESTION.encode())
            except OSError as error:
                print(json.dumps({"status": "unusable", "reason": f"TCP_CONGESTION {CONGESTION}: {error}"}))
                return
    message_bytes, depth = int(sys.argv[2]), int(sys.argv[3])
    warmup, duration, runs = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    if impl == "uvloop":
        try:
            import uvloop
        except ImportError:
            print(json.dumps({"status": "unusable", "reason": "uvloop is not installed"}))
            return
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.SelectorEventLoop()
    asyncio.set_event_loop(loop)
    try:
        measured = loop.run_until_complete(run(loop, message_bytes, depth, warmup, duration, runs))
    finally:
        loop.close()
    print(json.dumps({"status": "ok", "measured": measured}))


if __name__ == "__main__":
    main()

"""The Python side of apps/bench/tls-echo.mjs: the TLS echo on asyncio or uvloop.

Usage: tls_echo.py <asyncio|uvloop> --params '<json>'
Prints one JSON line: {"roundTripsPerSecond": n, "cpuMicrosecondsPerRoundTrip": n}
(CPU: the whole process, server and clients, over the measured window).
`tls_echo.py --probe` prints which loops can be imported, as JSON.
"""

import asyncio
import json
import ssl
import sys
import time


def probe():
    loops = {"asyncio": True}
    try:
        import uvloop  # noqa: F401

        loops["uvloop"] = True
    except ImportError:
        loops["uvloop"] = False
    print(json.dumps(loops))


class EchoServer(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


class Meter:
    def __init__(self, loop, params, finished):
        self.loop = loop
        self.params = params
        self.finished = finished
        self.counting = False
        self.count = 0
        self.started = 0.0
        self.cpu_started = 0.0
        self.stopped = False

    def tick(self):
        if self.counting:
            self.count += 1

    def all_connected(self):
        self.loop.call_later(self.params["warmup"], self._start)

    def _start(self):
        self.counting = True
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()
        self.loop.call_later(self.params["seconds"], self._stop)

    def _stop(self):
        self.counting = False
        self.stopped = True
        elapsed = time.perf_counter() - self.started
        cpu = time.process_time() - self.cpu_started
        self.finished.set_result((self.count / elapsed, cpu * 1e6 / max(self.count, 1)))


class Client(asyncio.Protocol):
    def __init__(self, meter, size, message):
        self.meter = meter
        self.size = size
        self.message = message
        self.received = 0

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.received += len(data)
        if self.received < self.size:
            return
        self.received -= self.size
        self.meter.tick()
        if not self.meter.stopped:
            self.transport.write(self.message)


async def echo(params):
    loop = asyncio.get_running_loop()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(params["cert"], params["key"])
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.load_verify_locations(cafile=params["ca"])
    message = b"a" * params["size"]
    finished = loop.create_future()
    meter = Meter(loop, params, finished)
    server = await loop.create_server(EchoServer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    clients = []
    for _ in range(params["connections"]):
        transport, _protocol = await loop.create_connection(
            lambda: Client(meter, params["size"], message), "127.0.0.1", port, ssl=client_context, server_hostname="localhost"
        )
        clients.append(transport)
    for transport in clients:
        transport.write(message)
    meter.all_connected()
    rate = await finished
    for transport in clients:
        transport.abort()
    server.close()
    return rate


def main():
    if sys.argv[1] == "--probe":
        probe()
        return
    kind = sys.argv[1]
    params = json.loads(sys.argv[sys.argv.index("--params") + 1])
    if kind == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        rate, cpu = loop.run_until_complete(echo(params))
    finally:
        loop.close()
    print(json.dumps({"roundTripsPerSecond": rate, "cpuMicrosecondsPerRoundTrip": cpu}))


if __name__ == "__main__":
    main()

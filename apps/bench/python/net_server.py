"""The Python servers of the network benchmarks (net.mjs).

    python3 net_server.py asyncio|uvloop|uvloop-streams echo|http
    python3 net_server.py --probe

Listens on 127.0.0.1 on a free port, prints "listening on 127.0.0.1:PORT",
runs until SIGTERM/SIGINT. echo: a Protocol that writes back every byte it
receives. http: a Protocol that answers every request (every b"\\r\\n\\r\\n")
with the same fixed HTTP/1.1 200 response on a kept-alive connection.
uvloop-streams: the same on asyncio streams (start_server, reader.read(65536),
writer.write, await writer.drain()) over uvloop, as evloop's streams server.
--probe prints which of asyncio and uvloop can run, as JSON.
"""
import asyncio
import json
import signal
import sys

HOST = "127.0.0.1"
BACKLOG = 1024
BODY = b"Hello, World!"
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(BODY)
) + BODY
END = b"\r\n\r\n"


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


class HttpProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.tail = b""

    def data_received(self, data):
        # Keep the last three bytes so a "\r\n\r\n" split across reads counts once.
        text = self.tail + data
        count = text.count(END)
        if count:
            self.tail = text[text.rfind(END) + 4:][-3:]
            self.transport.write(RESPONSE * count)
        else:
            self.tail = text[-3:]


async def echo_streams(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def http_streams(reader, writer):
    tail = b""
    while True:
        data = await reader.read(65536)
        if not data:
            break
        text = tail + data
        count = text.count(END)
        if count:
            tail = text[text.rfind(END) + 4:][-3:]
            writer.write(RESPONSE * count)
            await writer.drain()
        else:
            tail = text[-3:]
    writer.close()


def probe():
    try:
        import uvloop

        version = uvloop.__version__
    except ImportError:
        version = None
    print(json.dumps({"python": sys.version.split()[0], "asyncio": True, "uvloop": version}))


def main():
    if sys.argv[1:] == ["--probe"]:
        probe()
        return
    if len(sys.argv) != 3 or sys.argv[1] not in ("asyncio", "uvloop", "uvloop-streams") or sys.argv[2] not in ("echo", "http"):
        print("usage: net_server.py asyncio|uvloop|uvloop-streams echo|http", file=sys.stderr)
        sys.exit(2)
    impl, kind = sys.argv[1:]
    if impl.startswith("uvloop"):
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.SelectorEventLoop()
    asyncio.set_event_loop(loop)
    if impl.endswith("-streams"):
        handler = echo_streams if kind == "echo" else http_streams
        server = loop.run_until_complete(asyncio.start_server(handler, HOST, 0, backlog=BACKLOG))
    else:
        factory = EchoProtocol if kind == "echo" else HttpProtocol
        server = loop.run_until_complete(loop.create_server(factory, HOST, 0, backlog=BACKLOG))
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, loop.stop)
    print(f"listening on {HOST}:{server.sockets[0].getsockname()[1]}", flush=True)
    loop.run_forever()
    server.close()
    loop.close()


if __name__ == "__main__":
    main()

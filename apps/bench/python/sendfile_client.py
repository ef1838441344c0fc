"""The Python sender of the sendfile benchmark (sendfile.mjs).

    python3 sendfile_client.py asyncio|uvloop PORT FILE COUNT
    python3 sendfile_client.py --probe

Connects to 127.0.0.1:PORT, sends FILE COUNT times over one connection with
loop.sendfile (asyncio's selector loop: os.sendfile; uvloop has none and
raises NotImplementedError, so the benchmark does not run it), shuts down its side, waits for the receiver's byte
count, and prints JSON: the count, and this process's CPU seconds and wall
seconds for the transfer alone (start-up excluded).
--probe prints which of asyncio and uvloop can run, as JSON.
"""
import asyncio
import json
import sys
import time


class Reply(asyncio.Protocol):
    def __init__(self, done):
        self.done = done
        self.answer = b""

    def data_received(self, data):
        self.answer += data

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result(self.answer)


async def send(port, path, count):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    transport, _ = await loop.create_connection(lambda: Reply(done), "127.0.0.1", port)
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    with open(path, "rb") as file:
        for _ in range(count):
            await loop.sendfile(transport, file, 0)
    transport.write_eof()
    answer = await done
    return {
        "received": int(answer.strip()),
        "cpuSeconds": time.process_time() - cpu0,
        "seconds": time.perf_counter() - wall0,
    }


def main():
    if sys.argv[1] == "--probe":
        try:
            import uvloop  # noqa: F401

            has_uvloop = True
        except ImportError:
            has_uvloop = False
        print(json.dumps({"asyncio": True, "uvloop": has_uvloop}))
        return
    impl, port, path, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    if impl == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    result = asyncio.run(send(port, path, count))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

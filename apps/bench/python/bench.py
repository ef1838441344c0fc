"""The Python side of apps/bench: the same scenarios on asyncio or uvloop.

Usage: bench.py <asyncio|uvloop> <scenario> '<params json>' <runs> <warmup 0|1>
Prints one JSON line: {"wallMs": [...], "cpuMs": [...], "extra": {}}.
`bench.py --probe` prints which loops can be imported, as JSON.
"""

import asyncio
import gc
import json
import sys
import time


def loop_factory(kind):
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def delays_ms(n, max_ms):
    """The same 32-bit LCG and seed as src/common.mjs, so both sides get identical delays."""
    out = [0] * n
    x = 12345
    for i in range(n):
        x = (1664525 * x + 1013904223) & 0xFFFFFFFF
        out[i] = int((x / 4294967296) * (max_ms + 1))
    if n > 0:
        out[n - 1] = max_ms
    return out


def callsoon_batch(new_loop, params, _input=None):
    n = params["n"]
    loop = new_loop()
    count = 0

    def callback():
        nonlocal count
        count += 1
        if count == n:
            loop.stop()

    try:
        for _ in range(n):
            loop.call_soon(callback)
        loop.run_forever()
    finally:
        loop.close()


def callsoon_chain(new_loop, params, _input=None):
    n = params["n"]
    loop = new_loop()
    count = 0

    def callback():
        nonlocal count
        count += 1
        if count == n:
            loop.stop()
        else:
            loop.call_soon(callback)

    try:
        loop.call_soon(callback)
        loop.run_forever()
    finally:
        loop.close()


def timers(new_loop, params, delays):
    n = params["n"]
    loop = new_loop()
    count = 0

    def callback():
        nonlocal count
        count += 1
        if count == n:
            loop.stop()

    try:
        for d in delays:
            loop.call_later(d / 1000, callback)
        loop.run_forever()
    finally:
        loop.close()


def tasks(new_loop, params, _input=None):
    n_tasks = params["tasks"]
    steps = params["steps"]

    async def worker():
        for _ in range(steps):
            await asyncio.sleep(0)

    async def main():
        await asyncio.gather(*[asyncio.ensure_future(worker()) for _ in range(n_tasks)])

    loop = new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def timer_delays(params):
    return delays_ms(params["n"], params["maxMs"])


# What makes a scenario's input outside the timed part (the timer delays).
PREPARE = {"timers-1s": timer_delays, "timers-100ms": timer_delays}

SCENARIOS = {
    "callsoon-batch": callsoon_batch,
    "callsoon-chain": callsoon_chain,
    "timers-1s": timers,
    "timers-100ms": timers,
    "tasks": tasks,
}


def warmup_params(params):
    out = dict(params)
    for key in ("n", "maxMs", "tasks"):
        if key in out:
            out[key] = max(1, out[key] // 10)
    return out


def probe():
    found = {"python": sys.version.split()[0], "asyncio": True}
    try:
        import uvloop

        found["uvloop"] = getattr(uvloop, "__version__", "unknown")
    except ImportError:
        found["uvloop"] = None
    print(json.dumps(found))


def main():
    if sys.argv[1:] == ["--probe"]:
        probe()
        return
    kind, name, params_json, runs, warmup = sys.argv[1:6]
    forced_gc = sys.argv[6:7] != ["nogc"]
    scenario = SCENARIOS[name]
    new_loop = loop_factory(kind)
    params = json.loads(params_json)
    prepare = PREPARE.get(name, lambda _params: None)
    if warmup == "1":
        small = warmup_params(params)
        scenario(new_loop, small, prepare(small))
    result = {"wallMs": [], "cpuMs": [], "extra": {}, "forcedGc": forced_gc}
    for _ in range(int(runs)):
        data = prepare(params)
        if forced_gc:
            gc.collect()
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        scenario(new_loop, params, data)
        result["wallMs"].append((time.perf_counter() - t0) * 1000)
        result["cpuMs"].append((time.process_time() - cpu0) * 1000)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

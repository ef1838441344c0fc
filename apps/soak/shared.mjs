// What the soak servers (evloop and Node `net`) share: the wire behaviour and
// how a server process measures itself.
import fs from 'node:fs';

// A client that sends this byte asks the server to flood it (a slow reader).
export const FLOOD_REQUEST = 'F';
// How much a flooded connection gets, in chunks of FLOOD_CHUNK bytes.
export const FLOOD_BYTES = 16 * 1024 * 1024;
export const FLOOD_CHUNK = 16 * 1024;
// The write buffer's high-water mark on flooded connections: small, so the
// slow reader fills it long before the flood is over.
export const FLOOD_HIGH_WATER = 64 * 1024;
// The server's SO_SNDBUF on flooded connections, so the kernel cannot absorb
// the whole flood and the transport's own buffer has to do the work.
export const FLOOD_SNDBUF = 64 * 1024;
// What the server writes after a client half-closes, before it closes too.
export const HALF_CLOSE_REPLY = 'bye';

/** This process's figures: memory after a full GC, open fds, JS-visible libuv resources. */
export function measure(extra) {
  globalThis.gc?.();
  globalThis.gc?.();
  const memory = process.memoryUsage();
  const resources = {};
  for (const type of process.getActiveResourcesInfo()) resources[type] = (resources[type] ?? 0) + 1;
  return {
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external + memory.arrayBuffers,
    fds: fs.readdirSync('/proc/self/fd').length,
    resources,
    ...extra,
  };
}

/** CPU time this process spends over `seconds` while nothing is asked of it (a figure, never a check). */
export function idleCpu(seconds) {
  const before = process.cpuUsage();
  return new Promise((resolve) =>
    setTimeout(() => {
      const used = process.cpuUsage(before);
      resolve((used.user + used.system) / 1000);
    }, seconds * 1000),
  );
}

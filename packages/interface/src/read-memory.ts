/**
 * Received bytes are handed out as views of read slabs: `ArrayBuffer`
 * memory outside V8's heap, freed only when a collection finds the slab
 * dead. evloop's read path allocates little JavaScript (about 200 bytes a
 * read), so slab memory grows several times faster than the young
 * generation fills. On Node 24 a process then often settles into starting
 * V8's major collector after nearly every young collection (about 18
 * mark-compacts a second on a loopback echo, 9-16% more CPU per round
 * trip); whether it does is settled in its first second. Node's own `net`
 * allocates more JavaScript per read and does not get there.
 * docs/benchmarks.md ("Read slabs and Node 24's major collections") has
 * the measurements.
 *
 * `noteReadMemory(bytes)` is called with the fresh slab bytes a read handed
 * out. It allocates a short-lived array in proportion (one element per 32
 * bytes: an eighth of `bytes` with pointer compression, a quarter without),
 * so young collections keep pace with the slabs. Only the first 4 KiB of a
 * read count: bulk reads (64 KiB and more) go through major collections
 * with or without pacing, and pacing them in full made them slower.
 *
 * Only on V8 13 and later (Node 24 on): V8 11.3 and 12.4 (Node 20 and 22)
 * never went into that state in the same runs, and there the extra young
 * collections cost 0-4%.
 */
const ELEMENTS_PER_BYTE_SHIFT = 5;
/** Reads are paced for at most this many of their bytes (see above). */
const MAX_PACED_BYTES = 4 * 1024;

/** The first V8 major version measured to need pacing (13.6, in Node 24). */
const FIRST_PACED_V8 = 13;

/** Whether this runtime's V8 is one that needs pacing; false where there is no V8 version to read. */
export function readMemoryNeedsPacing(v8Version: string | undefined = process.versions?.v8): boolean {
  const major = Number.parseInt(v8Version ?? '', 10);
  return major >= FIRST_PACED_V8;
}

const PACED = readMemoryNeedsPacing();

/** The last array made: kept where the optimizer cannot prove it unused, dead at the next one. */
let pacing: unknown[] = [];

/** Pace V8's young generation to `bytes` of read-slab memory just handed out (see above). */
export function noteReadMemory(bytes: number): void {
  if (!PACED || !(bytes >= 1 << ELEMENTS_PER_BYTE_SHIFT)) return;
  pacing = new Array((bytes < MAX_PACED_BYTES ? bytes : MAX_PACED_BYTES) >>> ELEMENTS_PER_BYTE_SHIFT);
}

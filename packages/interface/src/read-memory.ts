/**
 * Received bytes are handed out as views of read slabs: `ArrayBuffer`
 * memory outside V8's heap, freed only when a collection finds the slab
 * dead. evloop's read path allocates little JavaScript (about 200 bytes a
 * read), so slab memory grows several times faster than the young
 * generation fills. On Node 24 a process then often settles into starting
 * V8's major collector after nearly every young collection (about 18
 * mark-compacts a second on a loopback echo, 9-16% more CPU per round
 * trip). Why: V8 13 subtracts the `ArrayBuffer` bytes allocated since its
 * last major collection from the old generation's headroom when it decides
 * whether to start marking, and a major collection made under load leaves
 * little headroom (about 8 MB beyond the young generation). Once the slab
 * bytes allocated between two young collections exceed it, every young
 * collection starts marking, and every major collection sets the same
 * small headroom again. Node's own `net` allocates more JavaScript per read
 * and stays below it. docs/benchmarks.md ("Read slabs and Node 24's major
 * collections", "Slab tails and Node 24's major collections") has the
 * measurements.
 *
 * `noteReadMemory(bytes)` is called with the fresh slab bytes a read handed
 * out. It allocates a short-lived array in proportion (one element per 16
 * bytes: a quarter of `bytes` with pointer compression, half without), so
 * young collections keep pace with the slabs: with the rest of a read's
 * JavaScript, a read of up to 4 KiB allocates at least half its size, which
 * keeps the slab bytes between two young collections under that headroom.
 * (One element per 32 bytes, the first version, was not enough: 4 KiB
 * reads stayed in the state once in it.) Only the first 4 KiB of a read
 * count: bulk reads (64 KiB and more) go through major collections with or
 * without pacing, and pacing more of them made io_uring's 64 KiB stream
 * slower.
 *
 * Only on V8 13 and later (Node 24 on): V8 11.3 and 12.4 (Node 20 and 22)
 * never went into that state in the same runs, and there the extra young
 * collections cost 0-4%.
 */

/**
 * The room below which a read slab is replaced by a fresh one, on every
 * read path (the selector transports, the io_uring proactor's copy slab).
 * Kept small because V8 counts the whole slab, used or not: with small
 * reads a 64 KiB floor left a quarter of each 256 KiB slab unused and
 * counted, which alone kept Node 24 servers in back-to-back major
 * collections (docs/benchmarks.md, "Slab tails and Node 24's major
 * collections" and "io_uring's slab tails"). A read that fills the tail
 * is followed by one into the next slab, so bulk reads lose nothing
 * measurable.
 */
export const READ_SLAB_MIN_FREE = 16 * 1024;

const ELEMENTS_PER_BYTE_SHIFT = 4;
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

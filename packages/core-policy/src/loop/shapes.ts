/**
 * Objects kept alive for as long as evloop is loaded, one or two of each of
 * its hot classes, so that V8 keeps those classes' shapes.
 *
 * V8 keeps the shape (map) an object gets from its fields only while some
 * object has it, and for two full collections after. When a program has
 * no object of a class alive through two full collections (a benchmark's
 * forced GC between runs, each on a fresh loop; a server between bursts of
 * timers), the shape goes, and with it every piece of optimized code that
 * checks for it (`--trace-deopt`: "marking dependent code ... reason: weak
 * objects"). The next objects get a new shape, and the loop's timer path
 * runs in the lower tiers until it is compiled again: 100k timers after a
 * forced GC took twice the CPU of the same run without one
 * (docs/benchmarks.md, "The forced GC's cost").
 *
 * What is kept must have the shape later objects get: fields assigned in
 * one order, each with the kind of value it will hold (see the keepers in
 * handles.ts, timer-heap.ts and ready-queue.ts).
 */
const kept = new Map<string, readonly object[]>();

/** Keep `objects` (of the class named `name`) alive for as long as evloop is loaded. */
export function keepShapes(name: string, ...objects: object[]): void {
  kept.set(name, objects);
}

/**
 * @internal What is kept, by class name (tests look at it without touching
 * the objects: a property read would move an object off a shape V8 has
 * since replaced, and hide that it was left behind).
 */
export function _keptShapes(): ReadonlyMap<string, readonly object[]> {
  return kept;
}

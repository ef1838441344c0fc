/**
 * Objects kept alive for as long as evloop is loaded, one of each of its
 * hot classes, so that V8 keeps those classes' shapes.
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
 * What is kept must have the shape later objects get: a field whose kind
 * of value changes after the kept object was made (a run's \`when\`, once
 * 0 and then a fraction) moves later objects to a new shape and leaves the
 * kept one behind. test/shapes.test.ts compares the shapes with V8's own
 * check after full collections with nothing else alive.
 */
const kept = new Map<string, object>();

/** Keep `object` (of the class named `name`) alive for as long as evloop is loaded. */
export function keepShape(name: string, object: object): void {
  kept.set(name, object);
}

/**
 * @internal What is kept, by class name (tests look at it without touching
 * the objects: a property read would move an object off a shape V8 has
 * since replaced, and hide that it was left behind).
 */
export function _keptShapes(): ReadonlyMap<string, object> {
  return kept;
}

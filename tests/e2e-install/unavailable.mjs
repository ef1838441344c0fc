// Loads a backend package installed on a platform it does not support and
// prints what its descriptor says: `available=false reason=...`.
//
//   node unavailable.mjs @evloop/selector-kqueue
const packageName = process.argv[2];
const { backend } = await import(packageName);
const verdict = backend.available();
console.log(verdict.ok ? `available=true` : `available=false reason=${verdict.reason}`);

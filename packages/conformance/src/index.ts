export * from './selector-conformance.js';
export * from './event-loop-conformance.js';

export * from './selector-conformance.js';
export * from './event-loop-conformance.js';
export * from './streams-conformance.js';
export * from './network-conformance.js';
export * from './subprocess-conformance.js';
export * from './services-conformance.js';
export * from './tls-conformance.js';

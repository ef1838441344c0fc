export * from './errors.js';
export * from './selector.js';
export * from './backend.js';
export * from './proactor.js';
export type * from './loop.js';
export type * from './transports.js';
export type * from './protocols.js';
export type * from './server.js';
export type * from './policy.js';

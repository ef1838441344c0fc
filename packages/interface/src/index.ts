export * from './errors.js';
export * from './selector.js';
export * from './backend.js';
export * from './proactor.js';

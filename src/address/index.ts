// The address layer: pure parsing and rewriting, no I/O.
export * from './errors.js';
export * from './parse.js';
export * from './rewrite.js';
export * from './headers.js';
export * from './local-part.js';
export * from './unique.js';

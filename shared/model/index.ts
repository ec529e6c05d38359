export * from './constants.js';
export * from './names.js';
export * from './records.js';
export * from './schemas.js';
export type * from './types.js';

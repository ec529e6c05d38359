/** The event and message catalog: every contract that crosses a boundary of the WMS. */
export * from './api.js';
export * from './catalog.js';
export * from './constants.js';
export * from './eventbridge.js';
export * from './fields.js';
export * from './inbound.js';
export * from './openapi.js';
export * from './outbound.js';
export * from './pilot.js';
export * from './routes.js';
export * from './validation.js';

/** Deterministic ids for jobs and WMS-created datasets, and random claim tokens. */
export { compareCodePoints, compareNames, datasetUidFor, jobIdFor, newClaimToken } from './ids.js';

/** The one place AWS clients are built, plus the API-call counter used to measure calls per job. */
export { CallCounter, countProcessCalls } from './call-counter.js';
export { addCallCounter, awsClients, createAwsClients } from './clients.js';
export {
  createSignedHttp,
  type SignedHttp,
  type SignedHttpOptions,
  type SignedResponse,
  type SigningCredentials,
} from './signed-http.js';
export type { AwsClients, AwsClientsOptions, CallCount } from './types.js';

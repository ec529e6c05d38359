import type { z } from 'zod';
import {
  ClaimRequest,
  ClaimResponse,
  ErrorResponse,
  PilotHeartbeat,
  PilotHeartbeatResponse,
  PilotRegistration,
  PilotRegistrationResponse,
} from '../../events/index.js';
import {
  type CallCounter,
  createSignedHttp,
  type SignedHttp,
  type SignedResponse,
  type SigningCredentials,
} from '../../shared/aws/index.js';
import { ValidationError } from '../../shared/errors/index.js';
import {
  ClaimRefusedError,
  ControlPlaneProtocolError,
  ControlPlaneUnavailableError,
  PilotLostError,
} from './errors.js';

/** The claim refusal that is about the pilot, not the job (it was declared LOST or EXITED). */
const PILOT_NOT_LIVE = 'PILOT_NOT_LIVE';
/** The refusal of a caller that did not register the pilot (403): this pilot is not its own. */
const PILOT_IDENTITY_MISMATCH = 'PILOT_IDENTITY_MISMATCH';

/**
 * Whether the control plane refuses this process the pilot: another principal registered it
 * (e.g. the node's credentials changed with a renewed certificate), so its jobs are not its own.
 */
function isPilotDisowned(response: SignedResponse): boolean {
  return response.status === 403 && errorCodeOf(response).code === PILOT_IDENTITY_MISMATCH;
}

/** How long one API call may take before it counts as the control plane being unreachable. */
const REQUEST_TIMEOUT_MS = 10_000;
/** The service the API's calls are counted under, beside the SDK's (`SQS`, `S3`). */
const API_SERVICE = 'ApiGateway';

/** The pilot's routes of the control plane's REST API. */
export interface PilotApi {
  register(registration: PilotRegistration, signal?: AbortSignal): Promise<PilotRegistrationResponse>;
  /** Throws PilotLostError when the control plane has declared the pilot LOST, or it is another principal's. */
  heartbeat(heartbeat: PilotHeartbeat, signal?: AbortSignal): Promise<PilotHeartbeatResponse>;
  /** Throws ClaimRefusedError when the job is not (or no longer) this pilot's to run. */
  claim(jobId: string, request: ClaimRequest, signal?: AbortSignal): Promise<ClaimResponse>;
}

export interface ApiClientOptions {
  apiUrl: string;
  region: string;
  /** The SDK's default provider chain when absent. */
  credentials?: SigningCredentials;
  /** Counts each request, by the route's operation id (`registerPilot`, `pilotHeartbeat`, `claimJob`). */
  callCounter?: CallCounter;
}

function parseBody<Schema extends z.ZodType>(
  schema: Schema,
  response: SignedResponse,
  what: string,
): z.output<Schema> {
  const parsed = schema.safeParse(response.body);
  if (!parsed.success) {
    throw new ControlPlaneProtocolError(
      response.status,
      ValidationError.fromZod(what, parsed.error).message,
      {
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}

function errorCodeOf(response: SignedResponse): { code: string; message: string } {
  const parsed = ErrorResponse.safeParse(response.body);
  return parsed.success
    ? parsed.data.error
    : { code: `HTTP_${response.status}`, message: JSON.stringify(response.body) };
}

/**
 * The pilot's client of the control plane API: SigV4-signed JSON over HTTPS (shared/aws),
 * every response validated with the contract's schema and translated into the pilot's
 * errors: refused claims, LOST, an unreachable control plane, a contract violation.
 */
export class ApiClient implements PilotApi {
  readonly #http: SignedHttp;
  readonly #callCounter: CallCounter | undefined;

  constructor(options: ApiClientOptions) {
    this.#callCounter = options.callCounter;
    this.#http = createSignedHttp({
      baseUrl: options.apiUrl,
      region: options.region,
      ...(options.credentials && { credentials: options.credentials }),
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
  }

  async register(registration: PilotRegistration, signal?: AbortSignal): Promise<PilotRegistrationResponse> {
    const response = await this.#post(
      'registerPilot',
      'pilots',
      PilotRegistration.parse(registration),
      signal,
    );
    if (response.status === 200)
      return parseBody(PilotRegistrationResponse, response, 'registration response');
    throw this.#unexpected(response);
  }

  async heartbeat(heartbeat: PilotHeartbeat, signal?: AbortSignal): Promise<PilotHeartbeatResponse> {
    const path = `pilots/${encodeURIComponent(heartbeat.pilotId)}/heartbeat`;
    const response = await this.#post('pilotHeartbeat', path, PilotHeartbeat.parse(heartbeat), signal);
    // 409: declared LOST (or EXITED); 404: unknown. Either way its jobs are not its own.
    if (response.status === 409 || response.status === 404) throw new PilotLostError(heartbeat.pilotId);
    if (isPilotDisowned(response)) throw new PilotLostError(heartbeat.pilotId);
    if (response.status !== 200) throw this.#unexpected(response);
    const reply = parseBody(PilotHeartbeatResponse, response, 'heartbeat response');
    if (reply.state === 'LOST') throw new PilotLostError(heartbeat.pilotId);
    return reply;
  }

  async claim(jobId: string, request: ClaimRequest, signal?: AbortSignal): Promise<ClaimResponse> {
    const response = await this.#post(
      'claimJob',
      `jobs/${encodeURIComponent(jobId)}/claim`,
      ClaimRequest.parse(request),
      signal,
    );
    if (response.status === 409 || response.status === 404) {
      const { code, message } = errorCodeOf(response);
      if (code === PILOT_NOT_LIVE) throw new PilotLostError(request.pilotId);
      throw new ClaimRefusedError(jobId, code, message);
    }
    if (isPilotDisowned(response)) throw new PilotLostError(request.pilotId);
    if (response.status !== 200) throw this.#unexpected(response);
    const claim = parseBody(ClaimResponse, response, 'claim response');
    if (claim.jobId !== jobId || claim.attempt !== request.attempt) {
      throw new ControlPlaneProtocolError(
        response.status,
        `claim of ${jobId} attempt ${request.attempt} answered for ${claim.jobId} attempt ${claim.attempt}`,
      );
    }
    return claim;
  }

  #unexpected(response: SignedResponse): Error {
    const { code, message } = errorCodeOf(response);
    if (response.status >= 500 || response.status === 429) {
      return new ControlPlaneUnavailableError(`HTTP ${response.status} ${code}: ${message}`);
    }
    return new ControlPlaneProtocolError(response.status, `${code}: ${message}`);
  }

  async #post(
    operation: string,
    route: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<SignedResponse> {
    this.#callCounter?.record(API_SERVICE, operation);
    try {
      return await this.#http('POST', route, { body, ...(signal && { signal }) });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ControlPlaneUnavailableError(`POST /${route}: ${(error as Error).message}`, { cause: error });
    }
  }
}

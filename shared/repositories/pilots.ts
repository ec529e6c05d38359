import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import {
  ConditionFailedError,
  NotFoundError,
  PilotIdentityMismatchError,
  StateConflictError,
  ValidationError,
} from '../errors/index.js';
import { PilotRecord, type PilotState, type UnreportedJob } from '../model/index.js';
import { assertTransition, isOneOf, LIVE_PILOT_STATES } from '../states/index.js';
import { conditionalWrite, parseStored, queryPage, timestamp } from './dynamo.js';
import { Expression } from './expressions.js';
import { PILOTS_TABLE } from './tables.js';
import type { Page, PageRequest, RepositoryDeps, StoredItem } from './types.js';

const [BY_STATE] = PILOTS_TABLE.globalIndexes;

export type PilotRegistrationInput = Pick<
  z.input<typeof PilotRecord>,
  'pilotId' | 'host' | 'device' | 'slots' | 'version' | 'controlQueueUrl' | 'callerId' | 'callerArn'
>;

export interface PilotHeartbeatInput {
  pilotId: string;
  busySlots: number;
  /** ACTIVE or IDLE; a heartbeat never writes a final state. */
  state?: (typeof LIVE_PILOT_STATES)[number];
  at: string;
  /** The job attempts the pilot holds; stored as `reportedJobs` when given. */
  jobs?: readonly { jobId: string; attempt: number }[];
  /** The verified caller; when given, only the principal that registered the pilot may heartbeat. */
  callerId?: string;
}

export interface PilotTransition {
  pilotId: string;
  from: PilotState;
  to: PilotState;
  /** Only if the last heartbeat is older than this (the watchdog declaring a pilot LOST). */
  heartbeatBefore?: string;
}

/** The pilot after a change, and whether this call made it. */
export interface PilotChange {
  pilot: PilotRecord;
  applied: boolean;
}

/** Pilots: registration, heartbeats and state changes, each one guarded conditional write. */
export class PilotsRepo {
  readonly #deps: RepositoryDeps;

  constructor(deps: RepositoryDeps) {
    this.#deps = deps;
  }

  get #table(): string {
    return this.#deps.tables.pilots;
  }

  #parse(item: StoredItem): PilotRecord {
    return parseStored(PilotRecord, item, 'pilot');
  }

  async find(pilotId: string): Promise<PilotRecord | undefined> {
    const response = await this.#deps.doc.send(
      new GetCommand({ TableName: this.#table, Key: { pilotId }, ConsistentRead: true }),
    );
    return response.Item ? this.#parse(response.Item) : undefined;
  }

  async get(pilotId: string): Promise<PilotRecord> {
    const pilot = await this.find(pilotId);
    if (!pilot) throw new NotFoundError('pilot', pilotId);
    return pilot;
  }

  /**
   * Registers a pilot ACTIVE with no busy slots, or registers a live pilot again (a restart
   * under the same id starts afresh). A LOST or EXITED pilot cannot come back: StateConflictError.
   * With a `callerId`, only the principal that registered a live pilot may register it again
   * (PilotIdentityMismatchError otherwise).
   */
  async register(registration: PilotRegistrationInput): Promise<PilotRecord> {
    const now = timestamp(this.#deps.clock);
    const parsed = PilotRecord.safeParse({
      ...registration,
      state: 'ACTIVE',
      busySlots: 0,
      startedAt: now,
      lastHeartbeatAt: now,
    });
    if (!parsed.success) throw ValidationError.fromZod('pilot registration', parsed.error);
    const expression = new Expression();
    const live = expression.oneOf('state', LIVE_PILOT_STATES);
    const sameCaller =
      registration.callerId === undefined
        ? ''
        : ` AND ${expression.name('callerId')} = ${expression.value(registration.callerId)}`;
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: parsed.data,
          ConditionExpression: `attribute_not_exists(${expression.name('pilotId')}) OR (${live}${sameCaller})`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (!result.ok) {
      const current = result.current ? this.#parse(result.current) : undefined;
      if (
        registration.callerId !== undefined &&
        current !== undefined &&
        current.callerId !== registration.callerId
      ) {
        throw new PilotIdentityMismatchError(registration.pilotId);
      }
      throw new StateConflictError('pilot', registration.pilotId, LIVE_PILOT_STATES);
    }
    return parsed.data;
  }

  /**
   * Records a heartbeat: lastHeartbeatAt, busySlots, ACTIVE/IDLE and the jobs it holds. Refused with
   * StateConflictError for a LOST or EXITED pilot (it must stop), with PilotIdentityMismatchError
   * for a caller other than the registering one; a heartbeat older than the stored one changes
   * nothing (`applied: false`).
   */
  async heartbeat(heartbeat: PilotHeartbeatInput): Promise<PilotChange> {
    const busySlots = PilotRecord.shape.busySlots.safeParse(heartbeat.busySlots);
    if (!busySlots.success) throw ValidationError.fromZod('pilot heartbeat', busySlots.error);
    const reportedJobs = PilotRecord.shape.reportedJobs.safeParse(
      heartbeat.jobs?.map(({ jobId, attempt }) => ({ jobId, attempt })),
    );
    if (!reportedJobs.success) throw ValidationError.fromZod('pilot heartbeat', reportedJobs.error);
    const expression = new Expression();
    const lastHeartbeatAt = expression.name('lastHeartbeatAt');
    const sameCaller =
      heartbeat.callerId === undefined
        ? ''
        : ` AND ${expression.name('callerId')} = ${expression.value(heartbeat.callerId)}`;
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pilotId: heartbeat.pilotId },
          UpdateExpression: expression.update({
            set: {
              lastHeartbeatAt: heartbeat.at,
              busySlots: busySlots.data,
              state: heartbeat.state,
              reportedJobs: reportedJobs.data,
            },
          }),
          ConditionExpression: `${expression.oneOf('state', LIVE_PILOT_STATES)} AND ${lastHeartbeatAt} <= ${expression.value(heartbeat.at)}${sameCaller}`,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (result.ok) return { pilot: this.#parse(result.value.Attributes ?? {}), applied: true };
    if (!result.current) throw new NotFoundError('pilot', heartbeat.pilotId);
    const current = this.#parse(result.current);
    if (heartbeat.callerId !== undefined && current.callerId !== heartbeat.callerId) {
      throw new PilotIdentityMismatchError(heartbeat.pilotId);
    }
    if (!isOneOf(LIVE_PILOT_STATES, current.state)) {
      throw new StateConflictError('pilot', heartbeat.pilotId, LIVE_PILOT_STATES);
    }
    return { pilot: current, applied: false };
  }

  /** from → to, guarded by the state (and by a stale heartbeat when `heartbeatBefore` is given). */
  async transition(change: PilotTransition): Promise<PilotChange> {
    assertTransition('pilot', change.from, change.to);
    const expression = new Expression();
    const conditions = [`${expression.name('state')} = ${expression.value(change.from)}`];
    if (change.heartbeatBefore !== undefined) {
      conditions.push(`${expression.name('lastHeartbeatAt')} < ${expression.value(change.heartbeatBefore)}`);
    }
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pilotId: change.pilotId },
          UpdateExpression: expression.update({ set: { state: change.to } }),
          ConditionExpression: conditions.join(' AND '),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (result.ok) return { pilot: this.#parse(result.value.Attributes ?? {}), applied: true };
    if (!result.current) throw new NotFoundError('pilot', change.pilotId);
    const current = this.#parse(result.current);
    if (current.state === change.to) return { pilot: current, applied: false };
    // Still in `from`: only a fresh heartbeat can have refused it.
    if (current.state === change.from) {
      throw new ConditionFailedError(
        'pilot',
        change.pilotId,
        `pilot ${change.pilotId} heartbeat at ${current.lastHeartbeatAt} is not before ${change.heartbeatBefore}`,
      );
    }
    throw new StateConflictError('pilot', change.pilotId, [change.from]);
  }

  /**
   * Stores the watchdog's list of the pilot's RUNNING jobs that its heartbeats stopped
   * reporting; a pilot that is gone changes nothing (`false`).
   */
  async setUnreportedJobs(pilotId: string, jobs: readonly UnreportedJob[]): Promise<boolean> {
    const unreportedJobs = PilotRecord.shape.unreportedJobs.safeParse(jobs);
    if (!unreportedJobs.success) throw ValidationError.fromZod('unreported jobs', unreportedJobs.error);
    const expression = new Expression();
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pilotId },
          UpdateExpression: expression.update({ set: { unreportedJobs: unreportedJobs.data } }),
          ConditionExpression: `attribute_exists(${expression.name('pilotId')})`,
          ...expression.attributes(),
        }),
      ),
    );
    return result.ok;
  }

  /** Pilots in one state, stalest heartbeat first, optionally only those silent since `heartbeatBefore`. */
  async listByState(
    state: PilotState,
    options: PageRequest & { heartbeatBefore?: string } = {},
  ): Promise<Page<PilotRecord>> {
    const expression = new Expression();
    let keyCondition = `${expression.name(BY_STATE.partitionKey.name)} = ${expression.value(state)}`;
    if (options.heartbeatBefore !== undefined) {
      keyCondition += ` AND ${expression.name(BY_STATE.sortKey.name)} < ${expression.value(options.heartbeatBefore)}`;
    }
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#table,
        IndexName: BY_STATE.indexName,
        KeyConditionExpression: keyCondition,
        ...expression.attributes(),
      },
      options,
      (item) => this.#parse(item),
    );
  }
}

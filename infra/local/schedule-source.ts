/**
 * Schedule rules, fired by the runtime (the emulator has no scheduler): every period, each
 * target gets EventBridge's Scheduled Event, or the target's constant Input. Function targets
 * are invoked asynchronously, as EventBridge does; a tick that finds the previous invocation
 * of the same target still running is skipped (counted), so a slow handler under a scaled
 * schedule cannot pile up invocations. Async retries of failed invocations are not emulated:
 * the next tick is the retry.
 *
 * With a schedule state, each tick's time is kept in the emulator and a restarted runtime
 * fires next one period after the last tick (at once when that is past), so restarts more
 * frequent than the period cannot starve a schedule.
 */
import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../../shared/aws/index.js';
import type { FunctionPool } from './function-pool.js';
import type { RuntimeLog } from './log.js';
import type { RuleTargetWiring, RuleWiring } from './types.js';

export interface ScheduledRuleOptions {
  rule: RuleWiring;
  ruleArn: string;
  /** The period after scaling. */
  intervalMs: number;
  region: string;
  accountId: string;
  /** Queue URL of each SQS target, by logical id. */
  queueUrls: ReadonlyMap<string, string>;
  clients: AwsClients;
  pool: FunctionPool;
  log: RuntimeLog;
  /** When the rule last fired, kept across restarts; without it the first tick is one period after start. */
  state?: ScheduleState;
}

export interface ScheduleState {
  lastFired(rule: string): Promise<number | undefined>;
  saveFired(rule: string, at: number): Promise<void>;
}

export interface ScheduledRuleStats {
  ticks: number;
  invocations: number;
  failures: number;
  skipped: number;
}

/** EventBridge timestamps have whole seconds. */
function eventTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export function scheduledEvent(
  ruleArn: string,
  region: string,
  accountId: string,
  at: Date,
): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: accountId,
    time: eventTime(at),
    region,
    resources: [ruleArn],
    detail: {},
  };
}

export class ScheduledRule {
  readonly stats: ScheduledRuleStats = { ticks: 0, invocations: 0, failures: 0, skipped: 0 };
  readonly #options: ScheduledRuleOptions;
  readonly #running = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #started = false;

  constructor(options: ScheduledRuleOptions) {
    this.#options = options;
  }

  get rule(): RuleWiring {
    return this.#options.rule;
  }

  get intervalMs(): number {
    return this.#options.intervalMs;
  }

  get running(): boolean {
    return this.#started;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    void this.#firstDelay().then((delayMs) => {
      if (!this.#started) return;
      this.#timer = setTimeout(() => {
        this.#timer = setInterval(() => this.#tick(), this.#options.intervalMs);
        this.#tick();
      }, delayMs);
    });
  }

  /** Stops the timer and waits for invocations already started. */
  async stop(): Promise<void> {
    this.#started = false;
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all(this.#running.values());
  }

  /** One period, or what is left of the period since the last tick before a restart. */
  async #firstDelay(): Promise<number> {
    const { state, intervalMs, log } = this.#options;
    if (state === undefined) return intervalMs;
    try {
      const last = await state.lastFired(this.rule.logicalId);
      return last === undefined
        ? intervalMs
        : Math.max(0, Math.min(intervalMs, last + intervalMs - Date.now()));
    } catch (error) {
      log({
        level: 'warn',
        message: 'reading the schedule state failed',
        rule: this.rule.logicalId,
        error: String(error),
      });
      return intervalMs;
    }
  }

  #tick(): void {
    this.stats.ticks += 1;
    const { state, log } = this.#options;
    state?.saveFired(this.rule.logicalId, Date.now()).catch((error: unknown) => {
      log({
        level: 'warn',
        message: 'saving the schedule state failed',
        rule: this.rule.logicalId,
        error: String(error),
      });
    });
    const { ruleArn, region, accountId } = this.#options;
    const event = scheduledEvent(ruleArn, region, accountId, new Date());
    for (const target of this.rule.targets) {
      if (this.#running.has(target.id)) {
        this.stats.skipped += 1;
        continue;
      }
      const payload = target.input === null ? event : (JSON.parse(target.input) as unknown);
      const delivery = this.#deliver(target, payload).finally(() => this.#running.delete(target.id));
      this.#running.set(target.id, delivery);
    }
  }

  async #deliver(target: RuleTargetWiring, payload: unknown): Promise<void> {
    const { log, pool, clients, queueUrls } = this.#options;
    const rule = this.rule.logicalId;
    this.stats.invocations += 1;
    if (target.kind === 'sqs') {
      try {
        await clients.sqs.send(
          new SendMessageCommand({
            QueueUrl: queueUrls.get(target.logicalId),
            MessageBody: JSON.stringify(payload),
            ...(target.messageGroupId !== null && { MessageGroupId: target.messageGroupId }),
          }),
        );
      } catch (error) {
        this.stats.failures += 1;
        log({
          level: 'warn',
          message: 'scheduled delivery to a queue failed',
          rule,
          target: target.id,
          error: String(error),
        });
      }
      return;
    }
    const outcome = await pool.invoke(target.logicalId, payload);
    if (!outcome.ok) {
      this.stats.failures += 1;
      log({
        level: 'warn',
        message: 'scheduled invocation failed',
        rule,
        target: target.id,
        requestId: outcome.requestId,
        error: outcome.error,
      });
    }
  }
}

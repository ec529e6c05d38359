import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FunctionPool, type InvocationOutcome, type LocalFunction } from './function-pool.js';

const ECHO = fileURLToPath(new URL('./test-fixtures/echo.ts', import.meta.url));
const NO_HANDLER = fileURLToPath(new URL('./test-fixtures/no-handler.ts', import.meta.url));
const AWS_CALLER = fileURLToPath(new URL('./test-fixtures/aws-caller.ts', import.meta.url));

/** A loopback port nothing listens on: calls to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Echo {
  startedAt: number;
  finishedAt: number;
  role: string;
  functionName: string;
  invokedFunctionArn: string;
  awsRequestId: string;
  remainingMs: number;
}

function definition(logicalId: string, overrides: Partial<LocalFunction> = {}): LocalFunction {
  return {
    logicalId,
    name: logicalId.toLowerCase(),
    physicalName: `wms-${logicalId.toLowerCase()}`,
    arn: `arn:aws:lambda:eu-north-1:123456789012:function:wms-${logicalId.toLowerCase()}`,
    entryPath: ECHO,
    timeoutSeconds: 5,
    memoryMb: 128,
    reservedConcurrency: null,
    concurrency: 2,
    environment: { FIXTURE_ROLE: logicalId },
    ...overrides,
  };
}

function echoOf(outcome: InvocationOutcome): Echo {
  if (!outcome.ok)
    throw new Error(`invocation failed: ${outcome.error.errorType}: ${outcome.error.errorMessage}`);
  return outcome.result as Echo;
}

/**
 * The most invocations running at one instant. Counting the invocations each one overlaps
 * would count too many: with two slots, one that starts as its neighbour ends overlaps that
 * one and the one still running, three, while never more than two ran at once.
 */
function peakOverlap(echoes: Echo[]): number {
  return Math.max(
    ...echoes.map(
      (echo) =>
        echoes.filter((other) => other.startedAt <= echo.startedAt && echo.startedAt < other.finishedAt)
          .length,
    ),
  );
}

describe('FunctionPool', () => {
  let pool: FunctionPool | undefined;

  afterEach(async () => {
    await pool?.stop();
  });

  it('gives each function its own environment and a Lambda-like context', async () => {
    // Prepare
    pool = new FunctionPool([definition('First'), definition('Second')]);

    // Act
    const [first, second] = await Promise.all([pool.invoke('First', {}), pool.invoke('Second', {})]);

    // Assess
    expect(echoOf(first)).toMatchObject({
      role: 'First',
      functionName: 'wms-first',
      invokedFunctionArn: 'arn:aws:lambda:eu-north-1:123456789012:function:wms-first',
      awsRequestId: first.requestId,
    });
    expect(echoOf(second).role).toBe('Second');
    expect(echoOf(first).remainingMs).toBeGreaterThan(4_000);
    expect(echoOf(first).remainingMs).toBeLessThanOrEqual(5_000);
  });

  it('runs at most `concurrency` invocations at once and queues the rest', async () => {
    // Prepare
    pool = new FunctionPool([definition('Limited', { reservedConcurrency: 2, concurrency: 2 })]);
    await pool.invoke('Limited', {});

    // Act
    const outcomes = await Promise.all(
      Array.from(
        { length: 5 },
        () => pool?.invoke('Limited', { sleepMs: 300 }) as Promise<InvocationOutcome>,
      ),
    );

    // Assess
    expect(peakOverlap(outcomes.map(echoOf))).toBe(2);
    expect(pool.stats().limited).toMatchObject({
      invocations: 6,
      errors: 0,
      coldStarts: 1,
      running: 0,
      queued: 0,
    });
  });

  it('returns a thrown error as a failed outcome in Lambda error shape', async () => {
    // Prepare
    pool = new FunctionPool([definition('Failing')]);

    // Act
    const outcome = await pool.invoke('Failing', { fail: 'attempt out of range' });

    // Assess
    expect(outcome).toMatchObject({
      ok: false,
      error: { errorType: 'RangeError', errorMessage: 'attempt out of range' },
    });
    expect(outcome.ok === false && outcome.error.stackTrace.length).toBeGreaterThan(0);
  });

  it('reports an invocation that outlives the function timeout as timed out', async () => {
    // Prepare
    pool = new FunctionPool([definition('Slow', { timeoutSeconds: 1 })]);
    await pool.invoke('Slow', {});

    // Act
    const outcome = await pool.invoke('Slow', { sleepMs: 3_000 });

    // Assess
    expect(outcome).toMatchObject({
      ok: false,
      error: { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 1.00 seconds' },
    });
    expect(pool.stats().slow?.timeouts).toBe(1);
  });

  it('fails every invocation while the module cannot start, and throttles a function with reserved concurrency 0', async () => {
    // Prepare
    pool = new FunctionPool([
      definition('Broken', { entryPath: NO_HANDLER }),
      definition('Off', { reservedConcurrency: 0, concurrency: 0 }),
    ]);

    // Act
    const broken = await pool.invoke('Broken', {});
    const again = await pool.invoke('Broken', {});
    const throttled = await pool.invoke('Off', {});

    // Assess
    expect(broken).toMatchObject({
      ok: false,
      error: {
        errorType: 'Runtime.HandlerNotFound',
        errorMessage: expect.stringMatching(/handler is undefined/),
      },
    });
    expect(again.ok).toBe(false);
    expect(pool.stats().broken?.coldStarts).toBe(2);
    expect(throttled).toMatchObject({ ok: false, error: { errorType: 'TooManyRequestsException' } });
  });

  it("counts each function's AWS SDK calls, those of failed invocations included", async () => {
    // Prepare
    const environment = {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${await closedPort()}`,
      AWS_REGION: 'eu-north-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_MAX_ATTEMPTS: '1',
    };
    pool = new FunctionPool([
      definition('Caller', { entryPath: AWS_CALLER, environment }),
      definition('Echo'),
    ]);

    // Act
    const outcomes = await Promise.all([
      pool.invoke('Caller', { calls: 2 }),
      pool.invoke('Caller', { calls: 3, fail: true }),
      pool.invoke('Echo', {}),
    ]);

    // Assert
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, false, true]);
    const stats = pool.stats();
    expect(stats.caller?.awsCalls).toEqual([{ service: 'SQS', operation: 'ListQueues', calls: 5 }]);
    expect(stats.echo?.awsCalls).toEqual([]);
  });

  it('fails the invocations in flight when stopped', async () => {
    // Prepare
    pool = new FunctionPool([definition('Stopping')]);
    await pool.invoke('Stopping', {});
    const inFlight = pool.invoke('Stopping', { sleepMs: 2_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));

    // Act
    await pool.stop();

    // Assess
    expect(await inFlight).toMatchObject({ ok: false, error: { errorType: 'Runtime.Shutdown' } });
    expect(await pool.invoke('Stopping', {})).toMatchObject({
      ok: false,
      error: { errorType: 'Runtime.Shutdown' },
    });
  });
});

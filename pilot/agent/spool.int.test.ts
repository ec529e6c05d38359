import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../shared/aws/index.js';
import { eventually } from '../../test/support/eventually.js';
import { jobResult } from '../test-support/factories.js';
import { startPilot } from '../test-support/pilot-process.js';
import { closedPort, SwitchableProxy } from '../test-support/proxy.js';
import { createTestQueue, StatusCollector } from '../test-support/queues.js';
import { ResultSpool } from './spool.js';

const { sqs } = createAwsClients();
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pilot-spool-int-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('result spool of the pilot process', () => {
  it('keeps a result while SQS is unreachable, across a pilot kill and restart, then sends it', async () => {
    // Prepare: SQS reachable only through a proxy that starts down; the API never answers.
    const emulator = new URL(process.env.AWS_ENDPOINT_URL!);
    const proxy = new SwitchableProxy(Number(emulator.port));
    await proxy.up();
    await proxy.down();
    const statusQueue = await createTestQueue(sqs, 'pilot-spool-status');
    const viaProxy = (url: string) => url.replace(emulator.origin, proxy.endpoint);
    const spoolDir = path.join(root, 'spool');
    const configFile = path.join(root, 'pilot.json');
    await writeFile(
      configFile,
      JSON.stringify({
        apiUrl: `http://127.0.0.1:${await closedPort()}`,
        jobQueueUrls: {
          CPU: viaProxy(`${emulator.origin}/123456789012/unused-cpu`),
          GPU: viaProxy(`${emulator.origin}/123456789012/unused-gpu`),
        },
        statusQueueUrl: viaProxy(statusQueue),
        workDir: path.join(root, 'work'),
        spoolDir,
        device: 'CPU',
        slots: 1,
        allowSameUserPayloads: true,
      }),
    );
    const env = { AWS_ENDPOINT_URL: proxy.endpoint };
    const result = jobResult({ jobId: 'j-spooled', errorCode: 1201, exitCode: 3 });
    const spool = new ResultSpool(spoolDir);
    await spool.open();
    await spool.write(result);
    const status = new StatusCollector(sqs, statusQueue);

    try {
      // Act: a pilot fails to send it and is killed; a second one starts and keeps trying.
      const first = startPilot(configFile, env);
      await first.waitForLine((line) => line.message === 'status queue unreachable; retrying');
      first.kill('SIGKILL');
      await first.exited;
      expect(await readdir(spoolDir)).toEqual(['j-spooled.0.result.json']);
      const second = startPilot(configFile, env);
      await second.waitForLine((line) => line.message === 'resending spooled results' && line.count === 1);
      await second.waitForLine((line) => line.message === 'status queue unreachable; retrying');
      expect(await readdir(spoolDir)).toEqual(['j-spooled.0.result.json']);
      expect(status.messages).toEqual([]);
      await proxy.up();

      // Assess: delivered once SQS is back, and only then removed from the spool.
      const delivered = await status.waitFor((message) => message.jobId === 'j-spooled', 20_000);
      expect(delivered).toEqual(result);
      await eventually(async () => expect(await readdir(spoolDir)).toEqual([]), { timeoutMs: 5_000 });
      second.kill('SIGTERM');
      expect(await second.exit()).toEqual({ code: 0, signal: null });
    } finally {
      await status.stop();
      await proxy.down();
    }
  });
});

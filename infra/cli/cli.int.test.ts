/**
 * The real `wms` process against the real control plane (the WmsStack template on the
 * embedded runtime), signing with the emulator's credentials from the environment.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditReportView,
  DeadLetterQueueView,
  JobList,
  PilotList,
  RedriveReport,
  TaskList,
  TaskView,
} from '../../events/index.js';
import { PilotConfig } from '../../pilot/agent/config.js';
import { awsClients } from '../../shared/aws/index.js';
import { type ControlPlane, eventually, startControlPlane } from '../../test/support/index.js';
import { announceDataset } from '../local/demo/dsm.js';
import { EXIT_CODES } from './exit-codes.js';
import { jsonOf, runWms } from './test-support.js';

let plane: ControlPlane;
let env: Record<string, string>;
let workDir: string;
let inputDatasetUid: string;

const wms = (...args: string[]) => runWms(args, env);

function taskFile(name: string, task: Record<string, unknown>): string {
  const file = join(workDir, name);
  writeFileSync(file, JSON.stringify(task, null, 2));
  return file;
}

function task(taskId: string) {
  return {
    taskId,
    name: 'reco',
    executable: '/opt/spd/bin/reco',
    args: ['--input', '{input}', '--out', '{outdir}'],
    device: 'CPU',
    mode: 'map',
    maxRetries: 2,
    rank: 5,
    inputDatasetUid,
    outputDataset: `${taskId}.out`,
    logDataset: `${taskId}.log`,
  };
}

beforeAll(async () => {
  plane = await startControlPlane({ scheduleScale: 0.1 });
  env = { WMS_API_URL: plane.apiUrl };
  workDir = mkdtempSync(join(tmpdir(), 'wms-cli-'));
  const files = new Map(['a', 'b', 'c'].map((name) => [`${name}.raw`, Buffer.from(`slice ${name}`)]));
  ({ uid: inputDatasetUid } = await announceDataset({ bucket: plane.bucket, busName: plane.busName, files }));
}, 120_000);

afterAll(async () => {
  await plane?.stop();
});

describe('wms submit', () => {
  it('refuses an invalid task.json with exit 2, naming each bad field, and sends nothing', async () => {
    // Prepare
    const file = taskFile('bad.json', { ...task('t-cli-bad'), device: 'TPU', args: 'a b c', rank: 0 });

    // Act
    const run = await wms('submit', file);
    const listed = await wms('tasks', '--json');

    // Assess
    expect(run.code).toBe(EXIT_CODES.usage);
    expect(run.stderr).toContain('is not a valid task');
    expect(run.stderr).toMatch(/^ {2}device: /m);
    expect(run.stderr).toMatch(/^ {2}args: /m);
    expect(run.stderr).toMatch(/^ {2}rank: /m);
    expect(TaskList.shape.items.parse(jsonOf(listed)).map((t) => t.taskId)).not.toContain('t-cli-bad');
  });

  it('refuses a file that is not JSON, or not there, with exit 2', async () => {
    // Prepare
    const broken = join(workDir, 'broken.json');
    writeFileSync(broken, '{ "name": "reco", ');

    // Act
    const notJson = await wms('submit', broken);
    const missing = await wms('submit', join(workDir, 'missing.json'));

    // Assess
    expect([notJson.code, missing.code]).toEqual([EXIT_CODES.usage, EXIT_CODES.usage]);
    expect(notJson.stderr).toContain('broken.json is not valid JSON');
    expect(missing.stderr).toContain('cannot read');
  });

  it('registers a valid task, which wms tasks --json then lists', async () => {
    // Act
    const submitted = await wms('submit', taskFile('good.json', task('t-cli-1')));
    const listed = await wms('tasks', '--json');

    // Assess
    expect(submitted.code).toBe(0);
    expect(submitted.stdout).toContain('Task t-cli-1 registered');
    const tasks = TaskList.shape.items.parse(jsonOf(listed));
    expect(tasks.find((t) => t.taskId === 't-cli-1')).toMatchObject({ device: 'CPU', rank: 5 });
  });
});

describe('wms status, jobs, why, rank, pilots and watch on a live task', () => {
  it('shows the task and its jobs once they are generated', async () => {
    // Act
    const view = await eventually(
      async () => {
        const shown = TaskView.parse(jsonOf(await wms('status', 't-cli-1', '--json')));
        expect(shown.jobsTotal).toBe(3);
        return shown;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const text = await wms('status', 't-cli-1');
    const jobs = JobList.shape.items.parse(jsonOf(await wms('jobs', 't-cli-1', '--json')));

    // Assess
    expect(view).toMatchObject({
      taskId: 't-cli-1',
      state: 'RUNNING',
      progress: { files: { input: { count: 3 } } },
    });
    expect(text.stdout).toContain('Task t-cli-1 (reco) is RUNNING');
    expect(text.stdout).toMatch(/READY\s+█+\s+3/);
    expect(jobs.map((job) => job.inputs[0]!.name).sort()).toEqual(['a.raw', 'b.raw', 'c.raw']);
  });

  it('explains why a job waits: no pilot serves its device', async () => {
    // Prepare
    const [job] = JobList.shape.items.parse(
      jsonOf(await wms('jobs', 't-cli-1', '--json', '--state', 'READY')),
    );

    // Act
    const why = await wms('why', job!.jobId);

    // Assess
    expect(why.code).toBe(0);
    expect(why.stdout).toContain(`Job ${job!.jobId} of task t-cli-1 is READY`);
    expect(why.stdout).toContain('No active pilot can run CPU jobs');
  });

  it('lists a registered pilot', async () => {
    // Prepare
    await plane.api('POST', '/pilots', {
      body: { pilotId: 'cli-pilot-1', host: 'node07', device: 'GPU', slots: 4, version: '1.2.0' },
    });
    await plane.api('POST', '/pilots', {
      body: {
        pilotId: 'cli-pilot-2',
        host: 'node08',
        device: 'CPU',
        slots: 2,
        version: '1.2.0',
        degraded: ['no-cgroups', 'no-memory-limit'],
      },
    });

    // Act
    const pilots = PilotList.shape.items.parse(jsonOf(await wms('pilots', '--json', '--state', 'ACTIVE')));
    const table = await wms('pilots');

    // Assess
    expect(pilots.find((pilot) => pilot.pilotId === 'cli-pilot-1')).toMatchObject({
      device: 'GPU',
      slots: 4,
    });
    expect(table.stdout).toMatch(/cli-pilot-1\s+node07\s+GPU\s+ACTIVE.*\s-\n/);
    // What a pilot cannot do to isolate its payloads is for operators to see.
    expect(table.stdout).toMatch(/cli-pilot-2\s+node08\s+CPU\s+ACTIVE.*no-cgroups,no-memory-limit/);
  });

  it('changes the rank, and refuses one out of range with exit 2', async () => {
    // Act
    const changed = await wms('rank', 't-cli-1', '42', '--json');
    const outOfRange = await wms('rank', 't-cli-1', '101');

    // Assess
    expect(jsonOf(changed)).toMatchObject({ taskId: 't-cli-1', rank: 42, baseRank: 42 });
    expect(outOfRange.code).toBe(EXIT_CODES.usage);
  });

  it('cancels the task; watching it then ends at once with exit 6; a rank change is a conflict (4)', async () => {
    // Act
    const cancelled = await wms('cancel', 't-cli-1', '--reason', 'wrong calibration', '--json');
    const watched = await wms('watch', 't-cli-1');
    const rank = await wms('rank', 't-cli-1', '7');

    // Assess
    expect(jsonOf(cancelled)).toMatchObject({ taskId: 't-cli-1', state: 'CANCELLED' });
    expect(watched.code).toBe(EXIT_CODES.unhealthy);
    expect(watched.stdout.trim().split('\n')).toEqual([expect.stringMatching(/ t-cli-1 CANCELLED /)]);
    expect(rank.code).toBe(EXIT_CODES.conflict);
    expect(rank.stderr).toContain('STATE_CONFLICT');
  });

  it('answers an unknown task with exit 3', async () => {
    // Act
    const run = await wms('status', 't-cli-none');

    // Assess
    expect(run.code).toBe(EXIT_CODES.notFound);
    expect(run.stderr).toContain('task t-cli-none not found');
  });
});

describe('wms audit', () => {
  it('reports a clean system as JSON with exit 0', async () => {
    // Act
    const run = await wms('audit', '--json');

    // Assess
    const report = AuditReportView.parse(jsonOf(run));
    expect(report.tasks).toBeGreaterThanOrEqual(1);
    expect(report.findings).toEqual([]);
  });

  it('audits one task in words', async () => {
    // Act
    const run = await wms('audit', '--task', 't-cli-1');

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Audited 1 task(s), 3 job(s)');
    expect(run.stdout).toContain('No findings');
  });
});

describe('wms dlq', () => {
  it('lists a poison message with its reason, and redrive sends it back through its consumer', async () => {
    // Prepare: a message no consumer can parse, straight on the dataset-admin queue
    await awsClients().sqs.send(
      new SendMessageCommand({
        QueueUrl: plane.queueUrls.datasetAdmin,
        MessageBody: '{"detail-type": "dataset.upload"',
      }),
    );
    const before = await eventually(
      async () => {
        const queues = DeadLetterQueueView.array().parse(jsonOf(await wms('dlq', 'list', '--json')));
        const queue = queues.find((candidate) => candidate.name === 'dataset-admin');
        expect(queue?.messages).toHaveLength(1);
        return queue!;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );

    // Act
    const redriven = await wms('dlq', 'redrive', 'dataset-admin', '--json');

    // Assess: the reason names the problem; the message went through the consumer again and
    // came back as a new dead letter (only once: the redrive moves what was there)
    expect(before).toMatchObject({ source: 'dataset-admin', depth: 1 });
    expect(before.messages[0]).toMatchObject({
      errorCode: 'VALIDATION',
      errorReason: expect.stringContaining('JSON'),
    });
    expect(RedriveReport.parse(jsonOf(redriven))).toMatchObject({ queue: 'dataset-admin', moved: 1 });
    await eventually(
      async () => {
        const queues = DeadLetterQueueView.array().parse(jsonOf(await wms('dlq', 'list', '--json')));
        const queue = queues.find((candidate) => candidate.name === 'dataset-admin')!;
        expect(queue.messages.map((message) => message.messageId)).toEqual([expect.any(String)]);
        expect(queue.messages[0]!.messageId).not.toBe(before.messages[0]!.messageId);
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const text = await wms('dlq', 'list');
    expect(text.stdout).toMatch(/dataset-admin\s+dataset-admin\s+1\s+0/);
    expect(text.stdout).toContain('VALIDATION: body:');
  });

  it('refuses to redrive a queue without a source with exit 4', async () => {
    // Act
    const run = await wms('dlq', 'redrive', 'pilot-control');

    // Assess
    expect(run.code).toBe(EXIT_CODES.conflict);
  });
});

describe('wms and its configuration', () => {
  it('exits 2 without an API URL and 5 when the API refuses the credentials', async () => {
    // Act
    const noUrl = await runWms(['tasks'], { WMS_API_URL: undefined });
    const refused = await runWms(['tasks'], { ...env, AWS_SECRET_ACCESS_KEY: 'not-the-key' });

    // Assess
    expect(noUrl.code).toBe(EXIT_CODES.usage);
    expect(noUrl.stderr).toContain('WMS_API_URL');
    expect(refused.code).toBe(EXIT_CODES.denied);
  });

  it('exits 5 when there are no credentials at all, and signs with a named profile given by --profile', async () => {
    // Prepare: no credentials in the environment, and none in config files but the profile's.
    const credentialsFile = join(workDir, 'credentials');
    writeFileSync(
      credentialsFile,
      `[operator]\naws_access_key_id = ${process.env.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${process.env.AWS_SECRET_ACCESS_KEY}\n`,
    );
    const bare = {
      ...env,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(workDir, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
    };

    // Act
    const none = await runWms(['tasks'], bare);
    const profiled = await runWms(['--profile', 'operator', 'tasks', '--json'], bare);

    // Assess
    expect(none.code).toBe(EXIT_CODES.denied);
    expect(none.stderr).toContain('no AWS credentials');
    expect(profiled.code).toBe(EXIT_CODES.ok);
  });

  it('prints its version, and takes state names in any case', async () => {
    // Act
    const version = await wms('--version');
    const lower = await wms('tasks', '--state', 'running', '--json');
    const unknown = await wms('tasks', '--state', 'pending');

    // Assess
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(TaskList.shape.items.parse(jsonOf(lower)).every((task) => task.state === 'RUNNING')).toBe(true);
    expect(unknown.code).toBe(EXIT_CODES.usage);
    expect(unknown.stderr).toContain('--state must be one of');
  });

  it('writes a pilot.json for this deployment, and keeps an existing one without --force', async () => {
    // Prepare
    const out = join(workDir, 'pilot.json');
    const args = [
      'config',
      'pilot',
      '--device',
      'CPU',
      '--slots',
      '3',
      '--out',
      out,
      '--work-dir',
      join(workDir, 'w'),
    ];

    // Act
    const written = await wms(...args, '--spool-dir', join(workDir, 's'));
    const again = await wms(...args);
    const config = PilotConfig.parse(JSON.parse(readFileSync(out, 'utf8')));

    // Assess
    expect(written.code).toBe(EXIT_CODES.ok);
    expect(config).toMatchObject({
      apiUrl: plane.apiUrl,
      jobQueueUrls: { CPU: plane.queueUrls.jobsCpu, GPU: plane.queueUrls.jobsGpu },
      statusQueueUrl: plane.queueUrls.status,
      device: 'CPU',
      slots: 3,
    });
    expect(again.code).toBe(EXIT_CODES.usage);
    expect(again.stderr).toContain('--force');
  });

  it('runs as the package bin: npx wms', async () => {
    // Act
    const run = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn('npx', ['--no-install', 'wms', '--help'], {
        env: process.env,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
      });
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout }));
    });

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: wms');
  });
});

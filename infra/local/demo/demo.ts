/**
 * The demo: the whole WMS on the embedded default, no cloud account, no Docker.
 *
 *   npm run demo [-- --files 48 --events 300 --inline-checklist 5000 --endpoint URL]
 *
 * Starts the emulator (or attaches to `--endpoint` / WMS_LOCAL_ENDPOINT) and the embedded
 * control plane (from the stack definition), plays the
 * DSM (a synthetic SPD dataset of binary time slices in S3, announced with file.input and
 * closed with dataset.close: its checklist inline up to `--inline-checklist` names, by a
 * checklist object above, the limit the WMS's own closes then follow too), plays the WfMS (a two-stage workflow: `decode` on CPU, then
 * `filter` as a GPU task over decode's output), runs one CPU and one GPU pilot as separate
 * processes, shows progress, verifies every output in storage, runs the consistency audit,
 * and prints a summary whose last line is one JSON object. Exits 0 only if every task is DONE.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { FileList, RegisterTaskResponse, TaskView } from '../../../events/index.js';
import { awsClients, createSignedHttp, type SignedHttp } from '../../../shared/aws/index.js';
import { datasetUidFor } from '../../../shared/ids/index.js';
import type { FileRecord } from '../../../shared/model/index.js';
import { createRepositories } from '../../../shared/repositories/index.js';
import { runAudit } from '../../../shared/services/index.js';
import { isTerminal } from '../../../shared/states/index.js';
import { configuredEndpoint, type PilotProcess, startEmbeddedSystem, startPilot } from '../index.js';
import { announceDataset, DSM_INLINE_CHECKLIST_MAX_FILES } from './dsm.js';
import { renderProgress } from './progress.js';
import { generateTimeSlice } from './time-slices.js';

const PAYLOADS = fileURLToPath(new URL('./payloads/', import.meta.url));
const TIME_LIMIT_MS = 15 * 60_000;
/** Short heartbeats and a fast watchdog, so the demo shows recovery within seconds. */
const DEMO_TUNABLES = {
  HEARTBEAT_INTERVAL_SECONDS: '5',
  PILOT_LOST_AFTER_SECONDS: '20',
  POWERTOOLS_LOG_LEVEL: 'WARN',
};

interface StageSpec {
  name: string;
  device: 'CPU' | 'GPU';
  payload: string;
  inputDatasetUid: string;
  outputDataset: string;
  logDataset: string;
}

function requireOk(response: { status: number; body: unknown }, what: string): unknown {
  if (response.status >= 300)
    throw new Error(`${what}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

async function registerStage(api: SignedHttp, stage: StageSpec): Promise<string> {
  const body = requireOk(
    await api('POST', 'tasks', {
      body: {
        name: stage.name,
        workflowId: 'demo',
        executable: 'node',
        args: [join(PAYLOADS, stage.payload), '{input}', '{outdir}'],
        device: stage.device,
        mode: 'map',
        maxRetries: 3,
        rank: 1,
        inputDatasetUid: stage.inputDatasetUid,
        outputDataset: stage.outputDataset,
        logDataset: stage.logDataset,
        wallTimeSeconds: 300,
      },
    }),
    `register ${stage.name}`,
  );
  return RegisterTaskResponse.parse(body).taskId;
}

async function taskView(api: SignedHttp, taskId: string): Promise<TaskView> {
  return TaskView.parse(requireOk(await api('GET', `tasks/${taskId}`), `task ${taskId}`));
}

async function taskFiles(api: SignedHttp, taskId: string): Promise<FileRecord[]> {
  const files: FileRecord[] = [];
  let nextToken: string | undefined;
  do {
    const page = FileList.parse(
      requireOk(await api('GET', `tasks/${taskId}/files`, { query: { limit: 1000, nextToken } }), 'files'),
    );
    files.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken);
  return files;
}

/** Every registered file exists in storage with the recorded size and SHA-256. */
async function verifyInStorage(files: readonly FileRecord[]): Promise<string[]> {
  const { s3 } = awsClients();
  const problems: string[] = [];
  for (const file of files) {
    try {
      const object = await s3.send(
        new GetObjectCommand({ Bucket: file.location.bucket, Key: file.location.key }),
      );
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      const checksum = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      if (bytes.length !== file.size)
        problems.push(`${file.location.key}: ${bytes.length} bytes, recorded ${file.size}`);
      if (checksum !== file.checksum)
        problems.push(`${file.location.key}: checksum ${checksum}, recorded ${file.checksum}`);
    } catch (error) {
      problems.push(`${file.location.key}: ${(error as Error).message}`);
    }
  }
  return problems;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      files: { type: 'string', default: '48' },
      events: { type: 'string', default: '300' },
      'inline-checklist': { type: 'string', default: String(DSM_INLINE_CHECKLIST_MAX_FILES) },
      endpoint: { type: 'string' },
    },
  });
  const endpoint = configuredEndpoint(values.endpoint);
  const fileCount = Number(values.files);
  const eventsPerFile = Number(values.events);
  const inlineChecklistMaxFiles = Number(values['inline-checklist']);
  if (
    !Number.isInteger(inlineChecklistMaxFiles) ||
    inlineChecklistMaxFiles < 0 ||
    !Number.isInteger(fileCount) ||
    fileCount < 1 ||
    !Number.isInteger(eventsPerFile) ||
    eventsPerFile < 1
  ) {
    console.error('usage: demo [--files N] [--events N] [--inline-checklist N] [--endpoint URL]');
    return 2;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'spd-wms-demo-'));
  console.log(`SPD WMS demo — work directory ${workDir}`);
  console.log(
    endpoint === undefined
      ? 'starting the emulator and the embedded control plane…'
      : `starting the embedded control plane on ${endpoint}…`,
  );
  const system = await startEmbeddedSystem({
    workDir,
    // The WMS closes its output and log datasets by the same limit as the DSM's input.
    tunables: { ...DEMO_TUNABLES, CHECKLIST_INLINE_MAX_FILES: String(inlineChecklistMaxFiles) },
    scheduleScale: 0.1,
    ...(endpoint !== undefined && { endpoint }),
  });
  const pilots: PilotProcess[] = [];
  try {
    const { plane } = system;
    // API Gateway's own limit: the API function's cold start comes while the control plane
    // takes in the dataset, and on a busy machine it took more than the client's usual 10 s.
    const api = createSignedHttp({ baseUrl: plane.apiUrl, region: plane.region, timeoutMs: 29_000 });

    console.log(`DSM: generating ${fileCount} time slices of ${eventsPerFile} collisions…`);
    const slices = new Map<string, Buffer>();
    for (let slice = 0; slice < fileCount; slice++) {
      slices.set(
        `slice-${String(slice).padStart(6, '0')}.raw`,
        generateTimeSlice({ slice, events: eventsPerFile, seed: 2026 }).bytes,
      );
    }
    const input = await announceDataset({
      bucket: plane.bucket,
      busName: plane.busName,
      files: slices,
      inlineChecklistMaxFiles,
    });
    console.log(
      `DSM: dataset ${input.name} (${input.files.length} files, ${input.bytes} bytes) announced and closed (checklist ${input.checklist})`,
    );

    const decodeOutput = `${input.name}.decode.1`;
    const taskIds = {
      decode: await registerStage(api, {
        name: 'decode',
        device: 'CPU',
        payload: 'decode.mjs',
        inputDatasetUid: input.uid,
        outputDataset: decodeOutput,
        logDataset: `${input.name}.decode.log.1`,
      }),
      filter: await registerStage(api, {
        name: 'filter',
        device: 'GPU',
        payload: 'filter.mjs',
        inputDatasetUid: datasetUidFor(decodeOutput),
        outputDataset: `${input.name}.filter.1`,
        logDataset: `${input.name}.filter.log.1`,
      }),
    };
    console.log(`WfMS: workflow registered: decode ${taskIds.decode} → filter ${taskIds.filter}`);

    const started = Date.now();
    pilots.push(
      startPilot(system, { name: 'cpu-1', device: 'CPU', slots: 2, heartbeatIntervalSeconds: 5 }),
      startPilot(system, {
        name: 'gpu-1',
        device: 'GPU',
        slots: 2,
        gpus: 2,
        heartbeatIntervalSeconds: 5,
      }),
    );
    console.log('pilots started: cpu-1 (2 CPU slots), gpu-1 (2 simulated GPUs)');

    let views: Record<keyof typeof taskIds, TaskView>;
    for (;;) {
      views = {
        decode: await taskView(api, taskIds.decode),
        filter: await taskView(api, taskIds.filter),
      };
      renderProgress(views, (Date.now() - started) / 1000);
      if (Object.values(views).every((view) => isTerminal('task', view.state))) break;
      if (Date.now() - started > TIME_LIMIT_MS) throw new Error('the workflow did not finish in time');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const wallSeconds = (Date.now() - started) / 1000;
    renderProgress(views, wallSeconds, true);

    const files = [...(await taskFiles(api, taskIds.decode)), ...(await taskFiles(api, taskIds.filter))];
    const problems = await verifyInStorage(files);
    const clients = awsClients();
    const repos = createRepositories({ doc: clients.doc, tables: plane.tables });
    const findings = [];
    for (const taskId of Object.values(taskIds)) {
      const report = await runAudit(
        {
          repos,
          s3: clients.s3,
          logger: new Logger({ logLevel: 'SILENT' }),
        },
        { taskId, repair: false },
      );
      findings.push(...report.findings);
    }

    const filterOutputs = files.filter(
      (f) => f.kind === 'output' && f.datasetUid === datasetUidFor(`${input.name}.filter.1`),
    );
    const bytesOut = filterOutputs.reduce((sum, f) => sum + f.size, 0);
    const counts = Object.values(views).map((view) => view.counts);
    const jobs = {
      done: counts.reduce((sum, c) => sum + c.DONE, 0),
      failed: counts.reduce((sum, c) => sum + c.FAILED, 0),
      lost: counts.reduce((sum, c) => sum + c.LOST, 0),
    };
    console.log('');
    console.log(
      `decode: ${views.decode.state}, ${views.decode.counts.DONE}/${views.decode.jobsTotal} jobs done`,
    );
    console.log(
      `filter: ${views.filter.state}, ${views.filter.counts.DONE}/${views.filter.jobsTotal} jobs done`,
    );
    console.log(
      `input ${input.bytes} bytes in ${input.files.length} files → ${bytesOut} bytes of hot events in ${filterOutputs.length} files`,
    );
    console.log(
      `outputs in storage: ${problems.length === 0 ? `all ${files.length} verified` : problems.join('; ')}`,
    );
    console.log(`consistency audit: ${findings.length === 0 ? 'clean' : JSON.stringify(findings)}`);
    console.log(`logs: ${system.logDir}`);
    const summary = {
      tasks: Object.fromEntries(Object.entries(views).map(([name, view]) => [name, view.state])),
      jobs,
      files_in: input.files.length,
      files_out: filterOutputs.length,
      bytes_in: input.bytes,
      bytes_out: bytesOut,
      reduction: bytesOut > 0 ? Math.round((input.bytes / bytesOut) * 100) / 100 : null,
      outputs_verified: problems.length === 0 && files.length > 0,
      audit_ok: findings.length === 0,
      wall_s: Math.round(wallSeconds * 10) / 10,
      jobs_per_s: Math.round(((jobs.done + jobs.failed) / wallSeconds) * 100) / 100,
    };
    console.log(JSON.stringify(summary));
    return Object.values(views).every((view) => view.state === 'DONE') ? 0 : 1;
  } finally {
    await Promise.all(pilots.map((pilot) => pilot.stop()));
    await system.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);

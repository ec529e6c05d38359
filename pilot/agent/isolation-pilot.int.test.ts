/**
 * The pilot process and its payloads' identity on the real control plane: a payload of an
 * isolated pilot (release bundle, credentials in a file) that tries to read the pilot's secrets
 * finds none; a pilot refuses to start where payloads would run as itself, or with credentials
 * in its environment; one allowed to run them as itself says so in its record.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { awsClients } from '../../shared/aws/index.js';
import { ensureTestPayloadUsers, TEST_PAYLOAD_USERS } from '../test-support/isolation.js';
import { LoggingProcess, PILOT_MAIN } from '../test-support/pilot-process.js';
import {
  fleet,
  HANG,
  plane,
  registerTask,
  repos,
  root,
  usePilotPlane,
  wms,
} from '../test-support/plane-suite.js';
import { announceDataset, shellTask, waitForTask } from '../test-support/plane-tasks.js';
import { getObjectBytes } from '../test-support/storage.js';

const { s3 } = awsClients();
usePilotPlane();

beforeAll(async () => {
  await ensureTestPayloadUsers();
  // As a node's /var/lib: payload users pass through to their job directories.
  await chmod(root, 0o711);
});

/**
 * A payload that walks up its ancestors (the pilot, what started it, … up to init) and copies
 * each one's environment, then the pilot's credentials file and what its spool and work
 * directories list, into `out/stolen`; it lists the
 * ancestors it found in `out/ancestors`.
 */
function stealing(credentialsFile: string): string {
  return [
    ': > "$2/stolen"',
    'p=$PPID',
    'while [ "$p" -gt 1 ]; do echo "$p" >> "$2/ancestors"',
    'cat "/proc/$p/environ" >> "$2/stolen" 2>/dev/null',
    "p=$(sed 's/.*) //' \"/proc/$p/stat\" | cut -d' ' -f2); done",
    `cat '${credentialsFile}' >> "$2/stolen" 2>/dev/null`,
    // The pilot's spool (results, claim tokens) and its work directory (other jobs) are closed.
    `ls -A '${path.dirname(credentialsFile)}/spool' '${path.dirname(credentialsFile)}/work' >> "$2/stolen" 2>/dev/null`,
    'tr "\\0" "\\n" < /proc/self/environ | grep -c "^AWS_" > "$2/own-aws-variables" || true',
  ].join('; ');
}

async function outputOf(taskId: string, name: string): Promise<string> {
  const file = (await wms.files(taskId, 'output')).find((entry) => entry.name.endsWith(name));
  if (!file) throw new Error(`no output ${name}`);
  return (await getObjectBytes(s3, file.location.bucket, file.location.key)).toString('utf8');
}

describe('an isolated pilot', () => {
  it("gives a payload that reads every ancestor's environ and the pilot's credentials file nothing", async () => {
    const name = 'isolated';
    const credentialsFile = path.join(root, name, 'aws-credentials');
    const input = await announceDataset(plane, s3, { 'steal.raw': 'anything\n' });
    const task = shellTask(input, stealing(credentialsFile));
    await registerTask(task, 1);

    const pilot = await fleet.start({
      name,
      slots: 1,
      settings: { payloadUser: [...TEST_PAYLOAD_USERS], allowSameUserPayloads: false },
    });
    await pilot.pilotId();
    // The secret is in the file only: the pilot's own environment holds none.
    const pilotEnvironment = readFileSync(`/proc/${pilot.process.pid}/environ`, 'utf8');
    await waitForTask(wms, task.taskId, 'DONE');

    const ancestors = (await outputOf(task.taskId, 'ancestors')).trim().split('\n').map(Number);
    expect(ancestors[0]).toBe(pilot.process.pid);
    expect(ancestors.length).toBeGreaterThanOrEqual(2);
    expect(await outputOf(task.taskId, 'stolen')).toBe('');
    expect((await outputOf(task.taskId, 'own-aws-variables')).trim()).toBe('0');
    // The pilot's own key (minted for it) is in its credentials file, and nowhere the payload looked.
    const secret = /^aws_secret_access_key = (\S+)$/m.exec(readFileSync(credentialsFile, 'utf8'))?.[1];
    expect(secret).toMatch(/\S{20,}/);
    expect(pilotEnvironment).not.toContain(secret);
    expect(pilotEnvironment).not.toContain('AWS_SECRET_ACCESS_KEY');
    expect(pilotEnvironment).not.toContain('AWS_ACCESS_KEY_ID');
    expect((await pilot.waitFor('pilot starting')).payloadUsers).toEqual([TEST_PAYLOAD_USERS[0]]);
    const record = await repos.pilots.get(await pilot.pilotId());
    expect(record.degraded).toBeUndefined();
    pilot.process.kill('SIGTERM');
    expect(await pilot.process.exit()).toEqual({ code: 0, signal: null });
  });

  it('kills at its start the payloads a pilot killed with SIGKILL left running in their cgroups', async () => {
    const input = await announceDataset(plane, s3, { 'orphan.raw': 'anything\n' });
    const task = shellTask(input, `setsid ${HANG}`);
    await registerTask(task, 1);
    const settings = { payloadUser: [...TEST_PAYLOAD_USERS], allowSameUserPayloads: false };
    const killed = await fleet.start({ name: 'killed', slots: 1, settings });
    const started = await killed.waitFor('payload started', { taskId: task.taskId });
    killed.process.kill('SIGKILL');
    await killed.process.exited;
    const cgroup = path.basename(String(started.cgroup));
    const cgroupProcs = path.join(String(started.cgroup), 'cgroup.procs');
    expect(readFileSync(cgroupProcs, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(2);

    const next = await fleet.start({ name: 'next', slots: 1, settings: { ...settings, maxJobs: 1 } });
    const reaped = await next.waitFor('payloads left by a pilot that died were killed');

    expect(reaped.cgroups).toContain(cgroup);
    expect(existsSync(String(started.cgroup))).toBe(false);
  });

  it('refuses to start when payloads would run as the pilot, unless allowed, which its record then shows', async () => {
    const refused = await fleet.start({ name: 'same-user', settings: { allowSameUserPayloads: false } });
    const allowed = await fleet.start({ name: 'allowed-same-user', settings: { idleExitSeconds: 2 } });

    expect((await refused.process.exit()).code).toBe(1);
    expect(refused.process.rawOutput.join('\n')).toContain('set \\"payloadUser\\"');
    const record = await repos.pilots.get(await allowed.pilotId());
    expect(record.degraded).toEqual(['same-user-payloads']);
    expect(
      allowed.linesOf(
        'degraded isolation: payloads run as the pilot\'s own user ("allowSameUserPayloads"): they can read its credentials',
      ),
    ).toHaveLength(1);
  });

  it('refuses to start with AWS credentials in its environment', async () => {
    const configFile = path.join(root, 'environment-credentials.json');
    await writeFile(
      configFile,
      JSON.stringify({
        apiUrl: plane.apiUrl,
        jobQueueUrls: { CPU: 'http://127.0.0.1:9/q', GPU: 'http://127.0.0.1:9/q' },
        statusQueueUrl: 'http://127.0.0.1:9/q',
        workDir: path.join(root, 'environment-credentials', 'work'),
        spoolDir: path.join(root, 'environment-credentials', 'spool'),
        allowSameUserPayloads: true,
      }),
    );
    const pilot = new LoggingProcess(
      process.execPath,
      ['--import', 'tsx', PILOT_MAIN, '--config', configFile],
      { ...process.env, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'in-the-environment' },
    );

    expect((await pilot.exit()).code).toBe(1);
    expect(pilot.rawOutput.join('\n')).toContain('readable in /proc/<pid>/environ');
  });
});

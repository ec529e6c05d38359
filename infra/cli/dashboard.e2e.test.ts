/**
 * The dashboard as an operator sees it: the real control plane, a real pilot process running a
 * task's jobs, `wms dashboard` signing for the browser, and headless Chromium (Debian's
 * /usr/bin/chromium, installed by scripts/ensure-chromium.sh) reading the page while the
 * task progresses. The screenshot is kept in .artifacts/dashboard.png.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegisterTaskResponse } from '../../events/index.js';
import { type ControlPlane, eventually, startControlPlane } from '../../test/support/index.js';
import { announceDataset } from '../local/demo/dsm.js';
import { type PilotProcess, startPilot } from '../local/index.js';
import { EXIT_CODES } from './exit-codes.js';
import { type RunningDashboard, runWms, startWmsDashboard } from './test-support.js';

const ARTIFACTS = fileURLToPath(new URL('../../.artifacts/', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const FILES = 30;

let plane: ControlPlane;
let pilot: PilotProcess | undefined;
let dashboard: RunningDashboard | undefined;
let browser: BrowserContext | undefined;
let page: Page;
let taskId: string;
/** A task whose two jobs fail at once, writing to stderr: the drill-down's failures. */
let failingTaskId: string;

async function startBrowser(workDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(join(workDir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The DONE count the page shows for the task, once it satisfies `wanted`. */
function shownDoneReaching(wanted: (done: number) => boolean): Promise<number> {
  return eventually(
    async () => {
      const done = Number(await page.locator(`tr[data-task-id="${taskId}"]`).getAttribute('data-done'));
      expect(wanted(done), `the page shows ${done} jobs done`).toBe(true);
      return done;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
}

beforeAll(async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'wms-dashboard-'));
  plane = await startControlPlane({
    tunables: { HEARTBEAT_INTERVAL_SECONDS: '5', POWERTOOLS_LOG_LEVEL: 'WARN' },
    scheduleScale: 0.1,
  });
  const files = new Map(
    Array.from({ length: FILES }, (_, index) => [
      `slice-${String(index).padStart(3, '0')}.raw`,
      Buffer.from(`time slice ${index}\n`),
    ]),
  );
  const input = await announceDataset({ bucket: plane.bucket, busName: plane.busName, files });
  const registered = await plane.api('POST', '/tasks', {
    body: {
      name: 'decode',
      workflowId: 'dashboard-e2e',
      executable: 'sh',
      // A second per job, so the progress moves while the page is read.
      args: ['-c', 'sleep 1 && cp "$1" "$2/"', 'sh', '{input}', '{outdir}'],
      device: 'CPU',
      mode: 'map',
      maxRetries: 2,
      rank: 10,
      inputDatasetUid: input.uid,
      outputDataset: `${input.name}.decode.1`,
      logDataset: `${input.name}.decode.log.1`,
    },
  });
  taskId = RegisterTaskResponse.parse(registered.body).taskId;
  const failingInput = await announceDataset({
    bucket: plane.bucket,
    busName: plane.busName,
    files: new Map([
      ['bad-0.raw', Buffer.from('bad 0\n')],
      ['bad-1.raw', Buffer.from('bad 1\n')],
    ]),
  });
  const failing = await plane.api('POST', '/tasks', {
    body: {
      name: 'broken',
      executable: 'sh',
      args: ['-c', 'echo "calibration missing for $1" >&2; exit 3', 'sh', '{input}', '{outdir}'],
      device: 'CPU',
      mode: 'map',
      maxRetries: 0,
      rank: 10,
      inputDatasetUid: failingInput.uid,
      outputDataset: `${failingInput.name}.broken.1`,
      logDataset: `${failingInput.name}.broken.log.1`,
    },
  });
  failingTaskId = RegisterTaskResponse.parse(failing.body).taskId;
  pilot = startPilot(
    { plane, logDir: join(workDir, 'logs'), workDir },
    { name: 'cpu-1', device: 'CPU', slots: 2, heartbeatIntervalSeconds: 5 },
  );
  dashboard = await startWmsDashboard({ WMS_API_URL: plane.apiUrl });
  browser = await startBrowser(workDir);
  page = await browser.newPage();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  await pilot?.stop();
  await plane?.stop();
});

describe('the dashboard through wms dashboard', () => {
  it('shows the task with its progress advancing, the pilot and the dead-letter queues', async () => {
    // Act
    await page.goto(dashboard!.url);
    const row = page.locator(`tr[data-task-id="${taskId}"]`);
    await row.waitFor({ timeout: 60_000 });
    const firstRead = await shownDoneReaching((done) => done > 0);
    const secondRead = await shownDoneReaching((done) => done > firstRead);
    // The picture: well into the task, with some history in the throughput chart.
    await shownDoneReaching((done) => done >= 12);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // Assess
    expect(secondRead).toBeGreaterThan(firstRead);
    expect(secondRead).toBeLessThanOrEqual(FILES);
    await expect(row.locator('.pill').textContent()).resolves.toMatch(/RUNNING|DONE/);
    expect(await page.locator('tr[data-pilot-id]').count()).toBe(1);
    expect(await page.locator('#pilots tbody').textContent()).toContain('CPU');
    expect(await page.locator('tr[data-queue]').count()).toBe(11);
    expect(await page.locator('#kpi-rate').textContent()).toMatch(/\/min$/);
    expect(await page.locator('#chart rect[data-kind="done"]').count()).toBeGreaterThan(0);
    expect(await page.locator('#banner').textContent()).toBe('');
    expect(await page.locator('#dot').getAttribute('data-connection')).toBe('live');
  });

  it('shows its connection as it is: not green while connecting, red when the API cannot be reached', async () => {
    // Prepare: one page whose first summary request is held, one whose requests all fail.
    const held = await browser!.newPage();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await held.route('**/dashboard/summary', async (route) => {
      await gate;
      await route.continue();
    });
    const cut = await browser!.newPage();
    await cut.route('**/dashboard/summary', (route) => route.abort('connectionrefused'));
    const connection = (on: Page) => on.locator('#dot').getAttribute('data-connection');

    // Act
    await held.goto(dashboard!.url);
    const whileConnecting = await connection(held);
    release();
    await held.locator(`#dot[data-connection="live"]`).waitFor({ timeout: 30_000 });
    await cut.goto(dashboard!.url);
    await cut.locator('#banner.shown').waitFor({ timeout: 30_000 });

    // Assess
    expect(whileConnecting).toBe('connecting');
    expect(await connection(cut)).toBe('stale');
    expect(await cut.locator('#banner').textContent()).toContain('cannot refresh');
    await held.close();
    await cut.close();
  });

  it("drills down from the tasks table to a task's jobs, and from a task's failures to their logs", async () => {
    // Act: the task's link in the table, then the failing task's page and a log of its failures.
    await page.goto(dashboard!.url);
    await page.locator(`tr[data-task-id="${taskId}"] a.task-link`).click();
    await page.locator(`#task-panel[data-task-id="${taskId}"]`).waitFor({ timeout: 30_000 });
    const timing = await page.locator('#task-timing').textContent();
    await page.locator('#job-filters button[data-state="DONE"]').click();
    await page.locator('#task-jobs tr[data-state="DONE"]').first().waitFor({ timeout: 30_000 });
    await eventually(
      async () => {
        const task = await plane.api('GET', `tasks/${failingTaskId}`);
        expect((task.body as { state: string }).state).toBe('FAILED');
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    await page.goto(`${dashboard!.url}#task=${failingTaskId}`);
    const failures = page.locator('#task-failures tr[data-error-code="1201"]');
    await failures.waitFor({ timeout: 30_000 });
    await failures.locator('a[data-log-job]').first().click();
    await page.locator('#log-view[data-job-id]').waitFor({ timeout: 30_000 });

    // Assess
    expect(timing).toMatch(/elapsed .+/);
    expect(await failures.locator('td.num').textContent()).toBe('2');
    expect(await page.locator('#task-jobs tr[data-state="FAILED"]').count()).toBe(2);
    expect(await page.locator('#log-view').textContent()).toContain('calibration missing for');
  });

  it('is not served to anyone who does not sign: no anonymous access', async () => {
    // Act
    const direct = await fetch(new URL('dashboard/summary', plane.apiUrl));
    const writeThroughProxy = await fetch(new URL('../tasks', dashboard!.url), {
      method: 'POST',
      body: '{}',
    });

    // Assess
    expect(direct.status).toBe(403);
    expect(writeThroughProxy.status).toBe(405);
  });

  it('wms watch follows the task to DONE and exits 0', async () => {
    // Act
    const watched = await runWms(['watch', taskId, '--interval', '1'], { WMS_API_URL: plane.apiUrl });

    // Assess
    const lines = watched.stdout.trim().split('\n');
    expect(watched.code).toBe(EXIT_CODES.ok);
    expect(lines.at(-1)).toMatch(new RegExp(` ${taskId} DONE 100\\.0% DONE=${FILES}$`));
    const done = lines.map((line) => Number(/DONE=(\d+)/.exec(line)?.[1] ?? 0));
    expect(done).toEqual([...done].sort((a, b) => a - b));
  }, 180_000);

  it("shows the last hour's throughput after a reload, from the server's per-minute record", async () => {
    // Prepare: a new page that gets no summary, so nothing it draws was seen live.
    const reloaded = await browser!.newPage();
    await reloaded.route('**/dashboard/summary', (route) => route.abort('connectionrefused'));
    const counted = (kind: 'done' | 'failed') =>
      reloaded.$$eval(`#chart rect[data-kind="${kind}"]`, (bars) =>
        bars.reduce((sum, bar) => sum + Number(bar.getAttribute('data-count')), 0),
      );

    // Act
    await reloaded.goto(dashboard!.url);
    await reloaded.locator('#chart rect[data-kind="done"]').first().waitFor({ timeout: 30_000 });

    // Assess: every job of the finished task, and the failing task's two failures.
    expect(await counted('done')).toBe(FILES);
    expect(await counted('failed')).toBe(2);
    expect(await reloaded.locator('#history-note').textContent()).toBe('(control-table)');
    mkdirSync(ARTIFACTS, { recursive: true });
    await reloaded.screenshot({ path: join(ARTIFACTS, 'dashboard-history.png'), fullPage: true });
    await reloaded.close();
  });
});

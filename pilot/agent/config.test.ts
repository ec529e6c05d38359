import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors/index.js';
import { Identifier } from '../../shared/model/index.js';
import {
  applyEnvironmentOverrides,
  defaultPilotId,
  loadPilotConfig,
  parsePilotConfig,
  printableConfig,
  resolveRegion,
} from './config.js';
import { DEFAULTS } from './constants.js';

const minimal = {
  apiUrl: 'https://api.example.org/prod',
  jobQueueUrls: {
    CPU: 'https://sqs.eu-west-1.amazonaws.com/123456789012/wms-jobs-cpu',
    GPU: 'https://sqs.eu-west-1.amazonaws.com/123456789012/wms-jobs-gpu',
  },
  statusQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/wms-status',
  workDir: '/var/lib/spd-wms-pilot/work',
  spoolDir: '/var/lib/spd-wms-pilot/spool',
};

function configError(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parsePilotConfig', () => {
  it('fills in the documented defaults', () => {
    const config = parsePilotConfig(minimal, {});

    expect(config).toMatchObject({
      ...minimal,
      heartbeatIntervalSeconds: 30,
      killGraceSeconds: 3,
      coresPerSlot: 1,
      pollWaitSeconds: 20,
      wallTimeSeconds: DEFAULTS.wallTimeSeconds,
      s3: {},
      staging: {
        rangedDownloadThresholdBytes: DEFAULTS.rangedDownloadThresholdBytes,
        uploadChecksumHeader: true,
      },
    });
    expect(config.idleExitSeconds).toBeUndefined();
    expect(config.maxJobs).toBeUndefined();
    expect(config.slots).toBeUndefined();
  });

  it('lets the environment override the file, setting by setting', () => {
    const env = {
      WMS_PILOT_GPU_QUEUE_URL: 'http://127.0.0.1:5000/123456789012/gpu',
      WMS_PILOT_SLOTS: '6',
      WMS_PILOT_KILL_GRACE_SECONDS: '0.5',
      WMS_PILOT_DEVICE: 'GPU',
      WMS_PILOT_WORK_DIR: '/scratch/work',
    };

    const config = parsePilotConfig({ ...minimal, slots: 2 }, env);

    expect(config.jobQueueUrls).toEqual({ CPU: minimal.jobQueueUrls.CPU, GPU: env.WMS_PILOT_GPU_QUEUE_URL });
    expect(config).toMatchObject({
      slots: 6,
      killGraceSeconds: 0.5,
      device: 'GPU',
      workDir: '/scratch/work',
    });
  });

  it('builds missing objects for an override and leaves the input untouched', () => {
    const raw = { workDir: '/w' };
    const merged = applyEnvironmentOverrides(raw, { WMS_PILOT_CPU_QUEUE_URL: 'http://q' });

    expect(merged).toEqual({ workDir: '/w', jobQueueUrls: { CPU: 'http://q' } });
    expect(raw).toEqual({ workDir: '/w' });
  });

  it('names every bad or missing setting', () => {
    const { statusQueueUrl: _, ...withoutStatus } = minimal;

    const error = configError(() =>
      parsePilotConfig({ ...withoutStatus, slots: 0, device: 'TPU', unknownSetting: 1 }, {}),
    );

    for (const field of ['statusQueueUrl', 'slots', 'device']) expect(error.variable).toContain(field);
    expect(error.message).toContain('unknownSetting');
  });

  it('names a malformed override by its variable', () => {
    const error = configError(() => parsePilotConfig(minimal, { WMS_PILOT_SLOTS: 'four' }));
    expect(error.variable).toBe('WMS_PILOT_SLOTS');
  });
});

describe('loadPilotConfig', () => {
  it('reads a JSON file and reports an unreadable one as a ConfigError', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pilot-config-'));
    try {
      const file = path.join(dir, 'pilot.json');
      await writeFile(file, JSON.stringify({ ...minimal, idleExitSeconds: 60 }));
      await writeFile(path.join(dir, 'broken.json'), '{ "apiUrl": ');

      expect((await loadPilotConfig(file, {})).idleExitSeconds).toBe(60);
      await expect(loadPilotConfig(path.join(dir, 'broken.json'), {})).rejects.toBeInstanceOf(ConfigError);
      await expect(loadPilotConfig(path.join(dir, 'missing.json'), {})).rejects.toThrow(/missing\.json/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('resolveRegion', () => {
  it('takes AWS_REGION first, then the file, and refuses neither', () => {
    const config = parsePilotConfig({ ...minimal, region: 'eu-west-1' }, {});
    expect(resolveRegion(config, { AWS_REGION: 'us-east-1' })).toBe('us-east-1');
    expect(resolveRegion(config, {})).toBe('eu-west-1');
    expect(() => resolveRegion(parsePilotConfig(minimal, {}), {})).toThrow(ConfigError);
  });
});

describe('printableConfig', () => {
  it('drops credentials and query strings from URLs and keeps the rest', () => {
    const config = parsePilotConfig(
      {
        ...minimal,
        apiUrl: 'https://user:secret@api.example.org/prod?X-Amz-Signature=abc',
        s3: { endpoint: 'https://k:s@s3.local' },
      },
      {},
    );

    const printed = JSON.stringify(printableConfig(config));

    expect(printed).not.toMatch(/secret|X-Amz-Signature|k:s@/);
    expect(printableConfig(config)).toMatchObject({
      apiUrl: 'https://api.example.org/prod',
      workDir: minimal.workDir,
    });
  });
});

describe('defaultPilotId', () => {
  it('is a valid Identifier made from the host name', () => {
    expect(defaultPilotId('node-17.spd.jinr.ru', '0a1b2c3d')).toBe('node-17.spd.jinr.ru-0a1b2c3d');
    expect(defaultPilotId('_weird host!', '0a1b2c3d')).toBe('weird-host--0a1b2c3d');
    expect(defaultPilotId('', '0a1b2c3d')).toBe('pilot-0a1b2c3d');
    for (const host of ['node-17', '_weird host!', '', '...', 'x'.repeat(300)]) {
      expect(Identifier.safeParse(defaultPilotId(host, 'ff')).success).toBe(true);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { loadConfig, retryPolicyOf } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import { pilotLostAfterSeconds, WatchdogConfig } from './config.js';

const env = {
  TASKS_TABLE: 'wms-Tasks',
  JOBS_TABLE: 'wms-Jobs',
  FILES_TABLE: 'wms-Files',
  DATASETS_TABLE: 'wms-Datasets',
  PILOTS_TABLE: 'wms-Pilots',
  CONTROL_TABLE: 'wms-Control',
  JOBS_CPU_QUEUE_URL: 'http://127.0.0.1:5000/000000000000/jobs-cpu',
  JOBS_GPU_QUEUE_URL: 'http://127.0.0.1:5000/000000000000/jobs-gpu',
  EVENT_BUS_NAME: 'wms-bus',
  PILOT_CONTROL_QUEUE_PREFIX: 'wms-pilot-',
  DATA_BUCKET: 'spd-data',
};

describe('WatchdogConfig', () => {
  it('declares a pilot lost after three heartbeat intervals unless told otherwise', () => {
    expect(pilotLostAfterSeconds(loadConfig(WatchdogConfig, env))).toBe(90);
    expect(
      pilotLostAfterSeconds(loadConfig(WatchdogConfig, { ...env, HEARTBEAT_INTERVAL_SECONDS: '5' })),
    ).toBe(15);
    expect(pilotLostAfterSeconds(loadConfig(WatchdogConfig, { ...env, PILOT_LOST_AFTER_SECONDS: '2' }))).toBe(
      2,
    );
  });

  it('has defaults for its tunables and refuses a malformed one by name', () => {
    expect(loadConfig(WatchdogConfig, env)).toMatchObject({
      QUEUED_STUCK_AFTER_SECONDS: 300,
      AUDIT_SAMPLE_TASKS: 3,
      RANK_ALPHA: 1,
      RANK_GAMMA: 0.5,
    });
    expect(() => loadConfig(WatchdogConfig, { ...env, PILOT_LOST_AFTER_SECONDS: 'soon' })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig(WatchdogConfig, { ...env, RANK_GAMMA: '1' })).toThrow(/RANK_GAMMA/);
    expect(() => loadConfig(WatchdogConfig, { ...env, PILOT_CONTROL_QUEUE_PREFIX: undefined })).toThrow(
      /PILOT_CONTROL_QUEUE_PREFIX: missing/,
    );
  });

  it('reads the retry backoff of LOST jobs from the same JOB_RETRY_* variables as status', () => {
    expect(
      retryPolicyOf(
        loadConfig(WatchdogConfig, { ...env, JOB_RETRY_BASE_SECONDS: '7', JOB_RETRY_MAX_SECONDS: '70' }),
      ),
    ).toEqual({ baseSeconds: 7, maxSeconds: 70, jitterFraction: 0 });
    expect(() => loadConfig(WatchdogConfig, { ...env, JOB_RETRY_BASE_SECONDS: 'soon' })).toThrow(
      /JOB_RETRY_BASE_SECONDS/,
    );
  });
});

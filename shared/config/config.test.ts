import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_COUNTER_SHARDS, MAX_COUNTER_SHARDS } from '../counters/index.js';
import { ConfigError } from '../errors/index.js';
import { RetryPolicy } from '../retry/index.js';
import {
  AwsClientConfig,
  DataBucketConfig,
  DeviceQueuesConfig,
  decimal,
  EventBusConfig,
  HeartbeatConfig,
  integer,
  JobGenerationQueueConfig,
  loadConfig,
  PilotControlConfig,
  RankConfig,
  RetryPolicyConfig,
  rankParamsOf,
  retryPolicyOf,
  StatusQueueConfig,
  TablesConfig,
  TaskRegistrationConfig,
} from './index.js';

const tables = {
  TASKS_TABLE: 'wms-Tasks',
  JOBS_TABLE: 'wms-Jobs',
  FILES_TABLE: 'wms-Files',
  DATASETS_TABLE: 'wms-Datasets',
  PILOTS_TABLE: 'wms-Pilots',
  CONTROL_TABLE: 'wms-Control',
};

function configErrorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('returns the typed values of a composed schema and ignores unrelated variables', () => {
    // Prepare
    const schema = z.object({
      ...TablesConfig.shape,
      ...EventBusConfig.shape,
      ...HeartbeatConfig.shape,
      ...DeviceQueuesConfig.shape,
    });
    const queues = {
      JOBS_CPU_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs-cpu',
      JOBS_GPU_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/jobs-gpu',
    };
    const env = {
      ...tables,
      ...queues,
      EVENT_BUS_NAME: 'wms-bus',
      HEARTBEAT_INTERVAL_SECONDS: '45',
      PATH: '/usr/bin',
    };

    // Act
    const config = loadConfig(schema, env);

    // Assess
    expect(config).toEqual({
      ...tables,
      ...queues,
      EVENT_BUS_NAME: 'wms-bus',
      HEARTBEAT_INTERVAL_SECONDS: 45,
    });
  });

  it('names every missing and every malformed variable in one ConfigError', () => {
    // Prepare
    const schema = z.object({ ...TablesConfig.shape, ...DataBucketConfig.shape, ...StatusQueueConfig.shape });
    const { JOBS_TABLE: _jobs, PILOTS_TABLE: _pilots, ...someTables } = tables;
    const env = { ...someTables, DATA_BUCKET: 'Not_A_Bucket', STATUS_QUEUE_URL: 'queue-without-scheme' };

    // Act
    const error = configErrorOf(() => loadConfig(schema, env));

    // Assess
    expect(error.variable.split(', ').sort()).toEqual([
      'DATA_BUCKET',
      'JOBS_TABLE',
      'PILOTS_TABLE',
      'STATUS_QUEUE_URL',
    ]);
    expect(error.message).toContain('JOBS_TABLE: missing');
    expect(error.message).toContain('PILOTS_TABLE: missing');
    expect(error.message).toContain('DATA_BUCKET: must be a valid S3 bucket name');
    expect(error.message).toContain('STATUS_QUEUE_URL: must be an http(s) queue URL');
  });

  it('treats an empty value as unset: a resource name is then missing, a tunable takes its default', () => {
    const schema = z.object({ ...EventBusConfig.shape, ...HeartbeatConfig.shape });

    const error = configErrorOf(() =>
      loadConfig(schema, { EVENT_BUS_NAME: '', HEARTBEAT_INTERVAL_SECONDS: '' }),
    );
    expect(error.variable).toBe('EVENT_BUS_NAME');
    expect(loadConfig(schema, { EVENT_BUS_NAME: 'bus', HEARTBEAT_INTERVAL_SECONDS: '' })).toEqual({
      EVENT_BUS_NAME: 'bus',
      HEARTBEAT_INTERVAL_SECONDS: 30,
    });
  });

  it('refuses a resource name holding whitespace', () => {
    const error = configErrorOf(() => loadConfig(EventBusConfig, { EVENT_BUS_NAME: 'my bus' }));
    expect(error.message).toContain('EVENT_BUS_NAME: must be a resource name without whitespace');
  });

  it('reads process.env when no environment is given', () => {
    const variable = 'WMS_CONFIG_TEST_LIMIT';
    process.env[variable] = '7';
    try {
      expect(loadConfig(z.object({ [variable]: integer({ default: 1, min: 0, max: 10 }) }))).toEqual({
        [variable]: 7,
      });
    } finally {
      delete process.env[variable];
    }
  });
});

describe('tunables', () => {
  const schema = z.object({
    BATCH: integer({ default: 10, min: 1, max: 100 }),
    WEIGHT: decimal({ default: 0.5, min: 0, max: 1 }),
  });

  it('apply their defaults when unset', () => {
    expect(loadConfig(schema, {})).toEqual({ BATCH: 10, WEIGHT: 0.5 });
  });

  it('parse integers and decimals within bounds', () => {
    expect(loadConfig(schema, { BATCH: '100', WEIGHT: '.25' })).toEqual({ BATCH: 100, WEIGHT: 0.25 });
  });

  it.each([
    ['BATCH', '10.5', 'must be an integer'],
    ['BATCH', '0', 'Too small'],
    ['BATCH', '101', 'Too big'],
    ['WEIGHT', 'half', 'must be a decimal number'],
    ['WEIGHT', '1.5', 'Too big'],
  ])('refuse %s=%s', (variable, value, message) => {
    const error = configErrorOf(() => loadConfig(schema, { [variable]: value }));
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(`${variable}: ${message}`);
  });

  it('read a flag only when written exactly true or false', () => {
    expect(loadConfig(AwsClientConfig, {})).toEqual({ AWS_S3_FORCE_PATH_STYLE: false });
    expect(loadConfig(AwsClientConfig, { AWS_S3_FORCE_PATH_STYLE: 'true' })).toEqual({
      AWS_S3_FORCE_PATH_STYLE: true,
    });
    const error = configErrorOf(() => loadConfig(AwsClientConfig, { AWS_S3_FORCE_PATH_STYLE: 'yes' }));
    expect(error.message).toContain('AWS_S3_FORCE_PATH_STYLE: must be "true" or "false"');
  });
});

describe('PilotControlConfig', () => {
  const arn = 'arn:aws:sqs:eu-central-1:123456789012:WmsStack-PilotControlDeadLetter-1A2B3C';

  it('reads the control queue prefix and the dead-letter queue ARN', () => {
    const env = { PILOT_CONTROL_QUEUE_PREFIX: 'wmsstack-pilot-', PILOT_CONTROL_DEAD_LETTER_ARN: arn };
    expect(loadConfig(PilotControlConfig, env)).toEqual(env);
  });

  it('refuses a prefix that leaves no room for a hashed name and an ARN of another service', () => {
    const env = {
      PILOT_CONTROL_QUEUE_PREFIX: 'p'.repeat(54),
      PILOT_CONTROL_DEAD_LETTER_ARN: 'arn:aws:sns:x:1:t',
    };
    expect(() => loadConfig(PilotControlConfig, env)).toThrow(
      /PILOT_CONTROL_QUEUE_PREFIX: must be 1 to 53 .*PILOT_CONTROL_DEAD_LETTER_ARN: must be an SQS queue ARN/,
    );
  });
});

describe('RankConfig', () => {
  it('gives the rank parameters their defaults and reads them as shared/rank takes them', () => {
    expect(rankParamsOf(loadConfig(RankConfig, {}))).toEqual({
      alpha: 1,
      beta: 0.5,
      gamma: 0.5,
      agingUnitSeconds: 60,
    });
    expect(
      rankParamsOf(loadConfig(RankConfig, { RANK_GAMMA: '0.9', RANK_AGING_UNIT_SECONDS: '10' })),
    ).toMatchObject({
      gamma: 0.9,
      agingUnitSeconds: 10,
    });
    expect(() => loadConfig(RankConfig, { RANK_GAMMA: '1' })).toThrow(/RANK_GAMMA/);
  });
});

describe('RetryPolicyConfig', () => {
  it('gives the retry backoff the defaults of shared/retry and reads it as shared/retry takes it', () => {
    expect(RetryPolicy.parse(retryPolicyOf(loadConfig(RetryPolicyConfig, {})))).toEqual(
      RetryPolicy.parse({}),
    );
    expect(
      retryPolicyOf(
        loadConfig(RetryPolicyConfig, {
          JOB_RETRY_BASE_SECONDS: '2',
          JOB_RETRY_MAX_SECONDS: '30',
          JOB_RETRY_JITTER_FRACTION: '0.25',
        }),
      ),
    ).toEqual({ baseSeconds: 2, maxSeconds: 30, jitterFraction: 0.25 });
    expect(() => loadConfig(RetryPolicyConfig, { JOB_RETRY_JITTER_FRACTION: '2' })).toThrow(
      /JOB_RETRY_JITTER_FRACTION/,
    );
  });
});

describe('TaskRegistrationConfig', () => {
  it('gives a new task the default counter shards, or from 1 up to the most a task may have', () => {
    expect(loadConfig(TaskRegistrationConfig, {}).TASK_COUNTER_SHARDS).toBe(DEFAULT_COUNTER_SHARDS);
    expect(loadConfig(TaskRegistrationConfig, { TASK_COUNTER_SHARDS: '1' }).TASK_COUNTER_SHARDS).toBe(1);
    expect(
      loadConfig(TaskRegistrationConfig, { TASK_COUNTER_SHARDS: String(MAX_COUNTER_SHARDS) })
        .TASK_COUNTER_SHARDS,
    ).toBe(MAX_COUNTER_SHARDS);
    for (const refused of ['0', String(MAX_COUNTER_SHARDS + 1), '2.5']) {
      expect(() => loadConfig(TaskRegistrationConfig, { TASK_COUNTER_SHARDS: refused })).toThrow(
        /TASK_COUNTER_SHARDS/,
      );
    }
  });
});

describe('JobGenerationQueueConfig', () => {
  it('requires the job-generation queue URL', () => {
    expect(() => loadConfig(JobGenerationQueueConfig, {})).toThrow(/JOB_GENERATION_QUEUE_URL: missing/);
  });
});

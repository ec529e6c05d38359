/**
 * Where the fixture handlers write what they received, so integration tests can observe the
 * runtime from the outside. Configuration is read once, at cold start, like a real handler.
 */
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { awsClients } from '../../../shared/aws/index.js';
import { loadConfig, ResourceName } from '../../../shared/config/index.js';

const config = loadConfig(z.object({ OBSERVATIONS_TABLE: ResourceName, FIXTURE_ROLE: z.string().min(1) }));

/** The role this worker was configured with: proves each function gets its own environment. */
export const fixtureRole = config.FIXTURE_ROLE;

/** Stores one observation under `source`; `key` orders observations of one source. */
export async function observe(source: string, key: string, data: Record<string, unknown>): Promise<void> {
  await awsClients().doc.send(
    new PutCommand({
      TableName: config.OBSERVATIONS_TABLE,
      Item: { source, key: `${key}#${randomUUID()}`, role: fixtureRole, observedAt: Date.now(), ...data },
    }),
  );
}

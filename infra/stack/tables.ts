import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { TABLE_SPECS, type TableKey, type TableSpec } from '../../shared/repositories/index.js';

const attributeType = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER } as const;
const streamView = {
  NEW_AND_OLD_IMAGES: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
  NEW_IMAGE: dynamodb.StreamViewType.NEW_IMAGE,
  OLD_IMAGE: dynamodb.StreamViewType.OLD_IMAGE,
  KEYS_ONLY: dynamodb.StreamViewType.KEYS_ONLY,
} as const;

function projectionOf(spec: TableSpec['globalIndexes'][number]['projection']) {
  if (spec.type === 'ALL') return { projectionType: dynamodb.ProjectionType.ALL };
  if (spec.type === 'KEYS_ONLY') return { projectionType: dynamodb.ProjectionType.KEYS_ONLY };
  return { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...spec.attributes] };
}

function buildTable(scope: Construct, spec: TableSpec, removalPolicy: RemovalPolicy): dynamodb.Table {
  const table = new dynamodb.Table(scope, `${spec.logicalName}Table`, {
    partitionKey: { name: spec.partitionKey.name, type: attributeType[spec.partitionKey.type] },
    sortKey: spec.sortKey ? { name: spec.sortKey.name, type: attributeType[spec.sortKey.type] } : undefined,
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    stream: spec.stream ? streamView[spec.stream] : undefined,
    timeToLiveAttribute: spec.timeToLiveAttribute,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy,
  });
  for (const index of spec.globalIndexes) {
    table.addGlobalSecondaryIndex({
      indexName: index.indexName,
      partitionKey: { name: index.partitionKey.name, type: attributeType[index.partitionKey.type] },
      sortKey: index.sortKey
        ? { name: index.sortKey.name, type: attributeType[index.sortKey.type] }
        : undefined,
      ...projectionOf(index.projection),
    });
  }
  return table;
}

/** Every table of shared/repositories/tables.ts, built from its one spec. */
export function buildTables(
  scope: Construct,
  removalPolicy = RemovalPolicy.RETAIN,
): Record<TableKey, dynamodb.Table> {
  const entries = Object.entries(TABLE_SPECS) as [TableKey, TableSpec][];
  return Object.fromEntries(
    entries.map(([key, spec]) => [key, buildTable(scope, spec, removalPolicy)]),
  ) as Record<TableKey, dynamodb.Table>;
}

/** The environment variable each table is bound to (shared/config TablesConfig). */
export const TABLE_ENV: Record<TableKey, string> = {
  tasks: 'TASKS_TABLE',
  jobs: 'JOBS_TABLE',
  files: 'FILES_TABLE',
  datasets: 'DATASETS_TABLE',
  pilots: 'PILOTS_TABLE',
  control: 'CONTROL_TABLE',
};

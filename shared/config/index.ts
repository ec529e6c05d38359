/** The one configuration loader and the named pieces functions compose their schemas from. */
export { loadConfig } from './load.js';
export {
  ArchiveConfig,
  AwsClientConfig,
  CONTROL_QUEUE_HASH_LENGTH,
  CONTROL_QUEUE_PREFIX_MAX_LENGTH,
  DataBucketConfig,
  DeviceQueuesConfig,
  decimal,
  EventBusConfig,
  flag,
  HeartbeatConfig,
  integer,
  JobGenerationQueueConfig,
  PilotControlConfig,
  PilotControlQueuePrefixConfig,
  QUEUE_NAME_MAX_LENGTH,
  QueueUrl,
  RankConfig,
  ResourceName,
  rankParamsOf,
  StatusQueueConfig,
  TablesConfig,
  THROUGHPUT_HISTORY_KINDS,
  ThroughputHistoryConfig,
  type ThroughputHistoryKind,
} from './schemas.js';
export type { Environment } from './types.js';

/** The one configuration loader and the named pieces functions compose their schemas from. */
export { loadConfig } from './load.js';
export {
  AwsClientConfig,
  DataBucketConfig,
  DeviceQueuesConfig,
  decimal,
  EventBusConfig,
  flag,
  HeartbeatConfig,
  integer,
  QueueUrl,
  ResourceName,
  StatusQueueConfig,
  TablesConfig,
} from './schemas.js';
export type { Environment } from './types.js';

/** Jobs finished per minute, kept where the deployment keeps them (CloudWatch or the Control table). */
export { CloudWatchHistory, CloudWatchRecorder, type MetricsSource } from './cloudwatch.js';
export {
  ControlTableHistory,
  ControlTableRecorder,
  THROUGHPUT_KEY_PREFIX,
  THROUGHPUT_RECORD_SECONDS,
} from './control-table.js';
export { createThroughputHistory, createThroughputRecorder } from './history.js';
export { isEmpty, minuteOf, pointsOf, recentMinutes } from './minutes.js';
export type { ThroughputCounts, ThroughputHistory, ThroughputPoint, ThroughputRecorder } from './types.js';

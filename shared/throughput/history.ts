import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ThroughputHistoryKind } from '../config/index.js';
import type { ControlRepo } from '../repositories/index.js';
import { CloudWatchHistory, CloudWatchRecorder, type MetricsSource } from './cloudwatch.js';
import { ControlTableHistory, ControlTableRecorder } from './control-table.js';
import type { ThroughputHistory, ThroughputRecorder } from './types.js';

/** The recorder the configuration names (the status function's). */
export function createThroughputRecorder(
  kind: ThroughputHistoryKind,
  deps: { control: ControlRepo },
): ThroughputRecorder {
  return kind === 'cloudwatch' ? new CloudWatchRecorder() : new ControlTableRecorder(deps.control);
}

/** The history the configuration names (the api function's). */
export function createThroughputHistory(
  kind: ThroughputHistoryKind,
  deps: { cloudWatch: CloudWatchClient; control: ControlRepo; metrics: MetricsSource },
): ThroughputHistory {
  return kind === 'cloudwatch'
    ? new CloudWatchHistory(deps.cloudWatch, deps.metrics)
    : new ControlTableHistory(deps.control);
}

import { Duration, type Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../../functions/common/index.js';
import type { WmsFunction } from './wms-function.js';
import type { WmsQueue } from './wms-queue.js';

const wmsMetric = (metricName: string, statistic = 'Sum', period = Duration.minutes(1)) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    statistic,
    period,
    dimensionsMap: { service: METRICS_SERVICE },
  });

/**
 * What the stack tells its operators: the topic every alarm notifies (each DLQ's alarm comes
 * with its queue, `DeadLetterQueue`), the alarms on job failure rate and lost pilots, and the
 * operations dashboard. The stack's audit trail is `audit-trail.ts`. Built in the stack's scope
 * (see `WmsData`).
 */
export class WmsObservability {
  readonly alarmTopic: sns.Topic;
  readonly #stack: Stack;

  constructor(stack: Stack) {
    this.#stack = stack;
    this.alarmTopic = new sns.Topic(stack, 'AlarmTopic', { displayName: 'SPD WMS alarms', enforceSSL: true });
  }

  /** The dashboard over `queues` and `functions`, and the alarms on jobs and pilots. */
  watch(parts: { queues: WmsQueue[]; functions: WmsFunction[] }): cloudwatch.Dashboard {
    return buildDashboard(this.#stack, { ...parts, alarmTopic: this.alarmTopic });
  }
}

/** The operations dashboard and the alarms on failure rate and lost pilots. */
function buildDashboard(
  stack: Stack,
  parts: { queues: WmsQueue[]; functions: WmsFunction[]; alarmTopic: sns.ITopic },
): cloudwatch.Dashboard {
  const dispatched = wmsMetric('JobsDispatched');
  const finished = wmsMetric('JobsDone');
  const failed = wmsMetric('JobsFailed');
  const lostPilots = wmsMetric('PilotsLost');
  const failureRate = new cloudwatch.MathExpression({
    expression: 'IF(done + failed > 0, 100 * failed / (done + failed), 0)',
    usingMetrics: {
      done: wmsMetric('JobsDone', 'Sum', Duration.minutes(5)),
      failed: wmsMetric('JobsFailed', 'Sum', Duration.minutes(5)),
    },
    label: 'Job failure rate (%)',
    period: Duration.minutes(5),
  });

  const failureAlarm = new cloudwatch.Alarm(stack, 'JobFailureRateAlarm', {
    alarmDescription: 'More than 20% of finished jobs failed over 15 minutes',
    metric: failureRate,
    threshold: 20,
    evaluationPeriods: 3,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const lostPilotsAlarm = new cloudwatch.Alarm(stack, 'LostPilotsAlarm', {
    alarmDescription: 'Pilots stopped heartbeating',
    metric: lostPilots,
    threshold: 0,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  for (const alarm of [failureAlarm, lostPilotsAlarm])
    alarm.addAlarmAction(new actions.SnsAction(parts.alarmTopic));

  const dashboard = new cloudwatch.Dashboard(stack, 'Dashboard', { dashboardName: `${stack.stackName}-wms` });
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({ title: 'Jobs', left: [dispatched, finished, failed], width: 12 }),
    new cloudwatch.GraphWidget({
      title: 'Dispatch latency (ms)',
      left: [wmsMetric('DispatchLatencyMs', 'p50'), wmsMetric('DispatchLatencyMs', 'p95')],
      width: 12,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Queue depth',
      left: parts.queues.map((q) => q.queue.metricApproximateNumberOfMessagesVisible({ label: q.name })),
      width: 12,
    }),
    new cloudwatch.AlarmStatusWidget({
      title: 'Alarms',
      alarms: [failureAlarm, lostPilotsAlarm, ...parts.queues.map((q) => q.deadLetterQueue.alarm)],
      width: 12,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Function errors',
      left: parts.functions.map((f) => f.fn.metricErrors({ label: f.name })),
      width: 12,
    }),
    new cloudwatch.GraphWidget({ title: 'Lost pilots', left: [lostPilots], width: 12 }),
  );
  return dashboard;
}

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** Namespace and service of every WMS metric, so the dashboard and alarms find them. */
export const METRICS_NAMESPACE = 'SPD/WMS';
export const METRICS_SERVICE = 'wms';

export interface Observability {
  logger: Logger;
  metrics: Metrics;
}

/**
 * Structured JSON logs named after the function, and EMF metrics under one service, so a
 * metric means the same whichever function emits it.
 */
export function createObservability(functionName: string): Observability {
  return {
    logger: new Logger({ serviceName: `wms-${functionName}` }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE }),
  };
}

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';

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

/**
 * Publishes what an invocation recorded as one EMF line, after it succeeds or fails. Unlike
 * Powertools' `logMetrics`, an invocation that recorded nothing writes nothing: `logMetrics`
 * writes a warning to the function's log for each of them, most invocations of most functions.
 */
export function publishMetrics(metrics: Metrics): MiddlewareObj {
  const publish = (): void => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: publish, onError: publish };
}

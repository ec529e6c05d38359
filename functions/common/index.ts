/** What every WMS function is built from: observability, queue and stream consumers, outbound events. */
export { ConsumerQueueConfig } from './config.js';
export { DEAD_LETTER_ATTRIBUTES, type DeadLetter, sendToDeadLetterQueue } from './dead-letter.js';
export { DeferMessageError, deferral, PoisonMessageError } from './errors.js';
export {
  createObservability,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  type Observability,
  publishMetrics,
} from './observability.js';
export { EventPublishError, publishEvents } from './publish-events.js';
export { createSqsConsumer, type SqsConsumerOptions } from './sqs-consumer.js';
export { type ChangeRecord, createStreamRecordConsumer, parseChangeRecord } from './stream-records.js';

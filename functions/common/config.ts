import { z } from 'zod';
import { integer, QueueUrl } from '../../shared/config/index.js';

/** What a queue consumer is told about its source queue by the stack (WmsQueue.consumeWith). */
export const ConsumerQueueConfig = z.object({
  SOURCE_QUEUE_URL: QueueUrl,
  DEAD_LETTER_QUEUE_URL: QueueUrl,
  SOURCE_MAX_RECEIVE_COUNT: integer({ default: 5, min: 1, max: 1000 }),
});
export type ConsumerQueueConfig = z.infer<typeof ConsumerQueueConfig>;

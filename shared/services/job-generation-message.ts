/**
 * The message on the job-generation queue: make the jobs of one task from its closed input
 * dataset, starting after `cursor` (the input files page where an earlier pass stopped).
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { parseOrThrow } from '../../events/index.js';
import { Identifier } from '../model/index.js';

/** An opaque page cursor of the input files, as the files repository returns it. */
const MAX_CURSOR_LENGTH = 4096;

export const JobGenerationMessage = z
  .object({ taskId: Identifier, cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional() })
  .strict();
export type JobGenerationMessage = z.infer<typeof JobGenerationMessage>;

/** Sends one job-generation message, validated first so no consumer ever sees a bad one. */
export async function sendJobGenerationMessage(
  sqs: SQSClient,
  queueUrl: string,
  message: JobGenerationMessage,
): Promise<void> {
  const body = parseOrThrow(JobGenerationMessage, message, 'job-generation message');
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body) }));
}

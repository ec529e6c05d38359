/**
 * The REST API as the WfMS and an operator use it, every response checked against its schema;
 * a status of 300 or more throws with the body.
 */
import type { z } from 'zod';
import {
  DatasetView,
  FileList,
  JobList,
  PilotList,
  RegisterTaskResponse,
  TaskSummary,
  TaskView,
} from '../../../events/index.js';
import type { SignedHttp } from '../../../shared/aws/index.js';
import type { FileKind, FileRecord, JobState, PilotRecord, TaskSpec } from '../../../shared/model/index.js';

/** The largest page the API serves. */
const PAGE = 1000;

export type JobItem = JobList['items'][number];
export type TaskSpecInput = z.input<typeof TaskSpec> & { taskId?: string };

async function call<Schema extends z.ZodType>(
  api: SignedHttp,
  schema: Schema,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  options: Parameters<SignedHttp>[2] = {},
): Promise<z.output<Schema>> {
  const response = await api(method, path, options);
  if (response.status >= 300)
    throw new Error(`${method} ${path}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  return schema.parse(response.body);
}

async function allPages<Item>(
  page: (nextToken: string | undefined) => Promise<{ items: Item[]; nextToken?: string | undefined }>,
): Promise<Item[]> {
  const items: Item[] = [];
  let nextToken: string | undefined;
  do {
    const result = await page(nextToken);
    items.push(...result.items);
    nextToken = result.nextToken;
  } while (nextToken);
  return items;
}

export function wmsApi(api: SignedHttp) {
  return {
    async registerTask(spec: TaskSpecInput): Promise<string> {
      return (await call(api, RegisterTaskResponse, 'POST', 'tasks', { body: spec })).taskId;
    },
    task: (taskId: string): Promise<TaskView> => call(api, TaskView, 'GET', `tasks/${taskId}`),
    cancel: (taskId: string, reason: string): Promise<TaskSummary> =>
      call(api, TaskSummary, 'POST', `tasks/${taskId}/cancel`, { body: { reason } }),
    setRank: (taskId: string, rank: number): Promise<TaskSummary> =>
      call(api, TaskSummary, 'PUT', `tasks/${taskId}/rank`, { body: { rank } }),
    jobs: (taskId: string, state?: JobState): Promise<JobItem[]> =>
      allPages((nextToken) =>
        call(api, JobList, 'GET', `tasks/${taskId}/jobs`, { query: { limit: PAGE, nextToken, state } }),
      ),
    files: (taskId: string, kind?: FileKind): Promise<FileRecord[]> =>
      allPages((nextToken) =>
        call(api, FileList, 'GET', `tasks/${taskId}/files`, { query: { limit: PAGE, nextToken, kind } }),
      ),
    dataset: (datasetUid: string): Promise<DatasetView> =>
      call(api, DatasetView, 'GET', `datasets/${datasetUid}`),
    pilots: (): Promise<PilotRecord[]> =>
      allPages((nextToken) => call(api, PilotList, 'GET', 'pilots', { query: { limit: PAGE, nextToken } })),
  };
}

export type WmsApi = ReturnType<typeof wmsApi>;

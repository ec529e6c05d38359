/** The EventBridge side of the contracts: which event carries what, from whom, and how it travels. */
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { EventBridgeSchema, SqsRecordSchema } from '@aws-lambda-powertools/parser/schemas';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { z } from 'zod';
import { WmsError } from '../shared/errors/index.js';
import {
  DETAIL_TYPES,
  EVENT_SOURCES,
  PUT_EVENTS_ENTRY_MAX_BYTES,
  PUT_EVENTS_TIME_BYTES,
} from './constants.js';
import {
  DatasetCloseDetail,
  DatasetDeleteDetail,
  DatasetUploadDetail,
  FileInputDetail,
  TaskCancelDetail,
  TaskPriorityDetail,
  TaskSubmittedDetail,
} from './inbound.js';
import { FileRegisteredDetail, TaskStatusChangedDetail } from './outbound.js';
import { parseOrThrow } from './validation.js';

export type EventSource = (typeof EVENT_SOURCES)[keyof typeof EVENT_SOURCES];
export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

/** `inbound`: the WMS consumes it; `outbound`: the WMS emits it; `both`: it does both. */
export type EventDirection = 'inbound' | 'outbound' | 'both';

interface EventCatalogEntry {
  readonly schema: z.ZodType;
  readonly sources: readonly [EventSource, ...EventSource[]];
  readonly direction: EventDirection;
}

/** Every event on the WMS bus: its detail schema and the sources allowed to send it. */
export const EVENT_CATALOG = {
  [DETAIL_TYPES.fileInput]: { schema: FileInputDetail, sources: [EVENT_SOURCES.dsm], direction: 'inbound' },
  // The WMS closes its output and log datasets with the DSM's message, and consumes its own
  // closes like the DSM's: that is how a workflow's next task starts.
  [DETAIL_TYPES.datasetClose]: {
    schema: DatasetCloseDetail,
    sources: [EVENT_SOURCES.dsm, EVENT_SOURCES.wms],
    direction: 'both',
  },
  [DETAIL_TYPES.datasetUpload]: {
    schema: DatasetUploadDetail,
    sources: [EVENT_SOURCES.dsm],
    direction: 'inbound',
  },
  [DETAIL_TYPES.datasetDelete]: {
    schema: DatasetDeleteDetail,
    sources: [EVENT_SOURCES.dsm],
    direction: 'inbound',
  },
  [DETAIL_TYPES.taskSubmitted]: {
    schema: TaskSubmittedDetail,
    sources: [EVENT_SOURCES.wfms],
    direction: 'inbound',
  },
  // The WMS re-sends a cancel of a very large task to itself to finish it in another invocation.
  [DETAIL_TYPES.taskCancel]: {
    schema: TaskCancelDetail,
    sources: [EVENT_SOURCES.wfms, EVENT_SOURCES.operator, EVENT_SOURCES.wms],
    direction: 'both',
  },
  [DETAIL_TYPES.taskPriority]: {
    schema: TaskPriorityDetail,
    sources: [EVENT_SOURCES.wfms, EVENT_SOURCES.operator],
    direction: 'inbound',
  },
  [DETAIL_TYPES.taskStatusChanged]: {
    schema: TaskStatusChangedDetail,
    sources: [EVENT_SOURCES.wms],
    direction: 'outbound',
  },
  [DETAIL_TYPES.fileRegistered]: {
    schema: FileRegisteredDetail,
    sources: [EVENT_SOURCES.wms],
    direction: 'outbound',
  },
} as const satisfies Record<DetailType, EventCatalogEntry>;

type Catalog = typeof EVENT_CATALOG;
export type DetailSchemaOf<T extends DetailType> = Catalog[T]['schema'];
/** The detail as a producer writes it (before defaults and transforms). */
export type DetailInputOf<T extends DetailType> = z.input<DetailSchemaOf<T>>;
/** The detail as a consumer receives it after parsing. */
export type DetailOf<T extends DetailType> = z.output<DetailSchemaOf<T>>;
export type SourceOf<T extends DetailType> = Catalog[T]['sources'][number];
/** A parsed EventBridge event carrying one of the given detail types. */
export type EventBridgeEventOf<T extends DetailType> = T extends DetailType
  ? Omit<z.output<typeof EventBridgeSchema>, 'source' | 'detail-type' | 'detail'> & {
      source: SourceOf<T>;
      'detail-type': T;
      detail: DetailOf<T>;
    }
  : never;

/** A parsed SQS record whose body is an EventBridge event carrying one of the given detail types. */
export type SqsEventBridgeRecordOf<T extends DetailType> = Omit<z.output<typeof SqsRecordSchema>, 'body'> & {
  body: EventBridgeEventOf<T>;
};

function eventSchemaFor(detailType: DetailType) {
  const entry: EventCatalogEntry = EVENT_CATALOG[detailType];
  return EventBridgeSchema.extend({
    source: z.enum(entry.sources),
    'detail-type': z.literal(detailType),
    detail: entry.schema,
  });
}

// zod cannot infer a detail's type through the catalog lookup, so the static type of a
// built schema is restated from the catalog by EventBridgeEventOf / SqsEventBridgeRecordOf.

/** The schema of a whole EventBridge event of one detail type, its source checked too. */
export function eventBridgeEventSchema<T extends DetailType>(
  detailType: T,
): z.ZodType<EventBridgeEventOf<T>> {
  return eventSchemaFor(detailType) as unknown as z.ZodType<EventBridgeEventOf<T>>;
}

/**
 * The schema of one SQS record whose body is an EventBridge event (a bus rule targeting a
 * queue) of one of the given detail types. Give it to the batch parser as the per-record
 * `schema`, so one bad record fails alone and names its field (e.g. `body.detail.file.url`).
 */
export function sqsEventBridgeRecordSchema<const T extends DetailType>(
  ...detailTypes: [T, ...T[]]
): z.ZodType<SqsEventBridgeRecordOf<T>> {
  const [first, ...others] = detailTypes;
  const firstEvent = eventSchemaFor(first);
  const event =
    others.length === 0
      ? firstEvent
      : z.discriminatedUnion('detail-type', [firstEvent, ...others.map(eventSchemaFor)]);
  return SqsRecordSchema.extend({ body: JSONStringified(event) }) as unknown as z.ZodType<
    SqsEventBridgeRecordOf<T>
  >;
}

/** An event EventBridge would refuse for its size. */
export class EventTooLargeError extends WmsError {
  override readonly name: string = 'EventTooLargeError';
  constructor(
    readonly detailType: DetailType,
    readonly sizeBytes: number,
  ) {
    super(
      `${detailType} event is ${sizeBytes} bytes; a PutEvents entry may hold at most ${PUT_EVENTS_ENTRY_MAX_BYTES}`,
    );
  }
}

/** The size EventBridge counts for a PutEvents entry (its documented formula). */
export function putEventsEntrySize(entry: PutEventsRequestEntry): number {
  const bytes = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));
  return (
    (entry.Time === undefined ? 0 : PUT_EVENTS_TIME_BYTES) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, resource) => sum + bytes(resource), 0)
  );
}

export interface PutEventsEntryInput<T extends DetailType> {
  detailType: T;
  source: SourceOf<T>;
  detail: DetailInputOf<T>;
  eventBusName: string;
  resources?: string[];
  time?: Date;
}

/**
 * A PutEvents entry for one event, checked before it is sent: the source must be one the
 * catalog allows for the detail type, the detail must validate, and the entry must fit
 * EventBridge's size limit. Throws ValidationError or EventTooLargeError.
 */
export function buildPutEventsEntry<T extends DetailType>(
  input: PutEventsEntryInput<T>,
): PutEventsRequestEntry {
  const entry: EventCatalogEntry = EVENT_CATALOG[input.detailType];
  const source = parseOrThrow(z.enum(entry.sources), input.source, `source of ${input.detailType}`);
  parseOrThrow(entry.schema, input.detail, `${input.detailType} detail`);
  // The detail goes out as the producer wrote it: the wire form is the schema's input side.
  const detail = JSON.stringify(input.detail);
  const putEntry: PutEventsRequestEntry = {
    EventBusName: input.eventBusName,
    Source: source,
    DetailType: input.detailType,
    Detail: detail,
    ...(input.resources === undefined ? {} : { Resources: input.resources }),
    ...(input.time === undefined ? {} : { Time: input.time }),
  };
  const size = putEventsEntrySize(putEntry);
  if (size > PUT_EVENTS_ENTRY_MAX_BYTES) throw new EventTooLargeError(input.detailType, size);
  return putEntry;
}

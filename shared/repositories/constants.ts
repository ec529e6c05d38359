/** DynamoDB's limit on the items of one TransactWriteItems call. */
export const TRANSACTION_ITEM_LIMIT = 100;
/** DynamoDB's limit on the keys of one BatchGetItem call. */
export const BATCH_GET_LIMIT = 100;
/** Retries of a transaction cancelled only by contention, with jittered exponential backoff. */
export const CONTENTION_RETRIES = 8;
export const CONTENTION_BACKOFF_BASE_MS = 10;
export const CONTENTION_BACKOFF_MAX_MS = 1_000;
/** Default and largest page of a list query. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1_000;

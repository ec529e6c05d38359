/** Defaults of the dataset-close deferral: 10 s doubling, at most 15 min, 12 tries. */
export const DEFAULT_CLOSE_BASE_SECONDS = 10;
export const DEFAULT_CLOSE_MAX_SECONDS = 900;
export const DEFAULT_CLOSE_MAX_ATTEMPTS = 12;
/** The longest an SQS message can be hidden (ChangeMessageVisibility limit). */
export const SQS_MAX_VISIBILITY_SECONDS = 12 * 3600;

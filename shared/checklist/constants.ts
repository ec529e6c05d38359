/** Defaults of the dataset-close deferral: 10 s doubling, at most 15 min, 12 tries. */
export const DEFAULT_CLOSE_BASE_SECONDS = 10;
export const DEFAULT_CLOSE_MAX_SECONDS = 900;
export const DEFAULT_CLOSE_MAX_ATTEMPTS = 12;
/** The longest an SQS message can be hidden (ChangeMessageVisibility limit). */
export const SQS_MAX_VISIBILITY_SECONDS = 12 * 3600;
/** How many names of each kind of difference a mismatch lists; it counts them all. */
export const CHECKLIST_DIFFERENCES_SHOWN = 10;
/**
 * The longest line a checklist object may hold, in bytes: a FileName is at most 255 UTF-16
 * units, at most 3 UTF-8 bytes each, and in NFD a name can be longer than in NFC.
 */
export const CHECKLIST_LINE_MAX_BYTES = 4 * 255;

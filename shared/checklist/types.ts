export type ChecklistMatch =
  | { status: 'match' }
  | {
      status: 'mismatch';
      /** In the checklist, not registered. */
      missing: string[];
      /** Registered, not in the checklist. */
      extra: string[];
      /** Listed more than once in the checklist. */
      duplicates: string[];
    };

/** Differences of one kind: how many, and the first few in code-point order. */
export interface ChecklistDifferences {
  count: number;
  first: string[];
}

/** The outcome of compareSortedNames: names counted on both sides, and what differs. */
export type ChecklistComparison =
  | { status: 'match'; registered: number; listed: number }
  | {
      status: 'mismatch';
      /** Registered names. */
      registered: number;
      /** Names in the checklist, a repeated one as often as it is listed. */
      listed: number;
      /** In the checklist, not registered. */
      missing: ChecklistDifferences;
      /** Registered, not in the checklist. */
      extra: ChecklistDifferences;
      /** Listed again right after itself. */
      duplicated: ChecklistDifferences;
    };

/** A checklist object as a dataset.close refers to it. */
export interface ChecklistObjectRef {
  location: { bucket: string; key: string };
  /** Names it lists. */
  count: number;
  /** sha256 of its bytes, 64 lower-case hex digits. */
  sha256: string;
}

export type CloseDeferral = { action: 'defer'; delaySeconds: number } | { action: 'dead-letter' };

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

export type CloseDeferral = { action: 'defer'; delaySeconds: number } | { action: 'dead-letter' };

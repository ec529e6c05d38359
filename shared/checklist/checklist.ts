import { ValidationError } from '../errors/index.js';
import { compareNames } from '../ids/index.js';
import { CloseDeferralPolicy, type CloseDeferralPolicyInput } from './schemas.js';
import type { ChecklistMatch, CloseDeferral } from './types.js';

function sortedUnique(names: Iterable<string>): string[] {
  return [...new Set(names)].sort(compareNames);
}

/**
 * Compares the files registered in a dataset with the checklist of a dataset.close. They
 * match when both hold the same names and the checklist lists each once; otherwise the
 * mismatch lists every missing, extra and duplicated name, each sorted. Registered names
 * are keys of the file table, so they are compared as a set.
 */
export function matchChecklist(registered: readonly string[], checklist: readonly string[]): ChecklistMatch {
  const registeredSet = new Set(registered);
  const checklistSet = new Set<string>();
  const duplicates = new Set<string>();
  for (const name of checklist) {
    if (checklistSet.has(name)) duplicates.add(name);
    checklistSet.add(name);
  }
  const missing = sortedUnique([...checklistSet].filter((name) => !registeredSet.has(name)));
  const extra = sortedUnique([...registeredSet].filter((name) => !checklistSet.has(name)));
  if (missing.length === 0 && extra.length === 0 && duplicates.size === 0) return { status: 'match' };
  return { status: 'mismatch', missing, extra, duplicates: sortedUnique(duplicates) };
}

/**
 * What to do with a dataset.close that did not match, on its `receiveCount`-th receive
 * (SQS ApproximateReceiveCount, 1 on the first): defer it for base · 2^(receiveCount − 1)
 * seconds capped at maxSeconds, or dead-letter it once maxAttempts receives have failed.
 */
export function closeDeferral(receiveCount: number, policy: CloseDeferralPolicyInput = {}): CloseDeferral {
  if (!Number.isInteger(receiveCount) || receiveCount < 1) {
    throw new ValidationError('invalid close deferral input', [
      { path: 'receiveCount', message: 'must be an integer >= 1' },
    ]);
  }
  const parsed = CloseDeferralPolicy.safeParse(policy);
  if (!parsed.success) throw ValidationError.fromZod('close deferral policy', parsed.error);
  const { baseSeconds, maxSeconds, maxAttempts } = parsed.data;
  if (receiveCount >= maxAttempts) return { action: 'dead-letter' };
  return { action: 'defer', delaySeconds: Math.min(maxSeconds, baseSeconds * 2 ** (receiveCount - 1)) };
}

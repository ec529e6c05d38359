import { describe, expect, it } from 'vitest';
import type { AuditReportView, DeadLetterList } from '../../events/index.js';
import { readSample } from '../../events/samples.js';
import { auditText, deadLetterText, unresolvedFindings } from './operator-commands.js';

const report = readSample('api.audit-report') as AuditReportView;
const clean: AuditReportView = { ...report, findings: [], repairs: [] };

describe('auditText and unresolvedFindings', () => {
  it('say a clean audit is clean, with nothing unresolved', () => {
    // Assess
    expect(auditText(clean, false)).toContain('No findings: every invariant holds.');
    expect(unresolvedFindings(clean)).toBe(0);
  });

  it('list the findings, and what the repairs did', () => {
    // Act
    const found = auditText({ ...report, repairs: [] }, false);
    const repaired = auditText(report, true);

    // Assess
    expect(found).toContain('2 finding(s):');
    expect(found).toContain('task-counters  task wf-run00421.decoding: counters say DONE=1995');
    expect(found).toContain('Run wms audit --repair');
    expect(repaired).toContain('Repairs: 1 applied, 0 refused');
    // One repaired, the missing object cannot be repaired.
    expect(unresolvedFindings(report)).toBe(1);
  });
});

describe('deadLetterText', () => {
  it('tabulates the queues and shows why each peeked message is there', () => {
    // Act
    const text = deadLetterText(readSample('api.dead-letter-list') as DeadLetterList);

    // Assess
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^QUEUE\s+REDRIVE TO\s+MESSAGES\s+IN FLIGHT$/);
    expect(lines[1]).toMatch(/^dataset-close\s+dataset-close\s+1\s+0$/);
    expect(lines[2]).toMatch(/^pilot-control\s+-\s+0\s+0$/);
    expect(text).toContain('dataset-close: 1 message(s), showing 1');
    expect(text).toContain('DEFERRED_TOO_LONG: dataset 9b1f3c2e');
  });
});

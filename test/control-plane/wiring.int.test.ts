import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../events/routes.js';
import { describeWiring } from '../../infra/local/index.js';
import { type ControlPlane, startControlPlane } from '../support/index.js';

describe('the embedded control plane runs exactly the stack', () => {
  let plane: ControlPlane;
  beforeAll(async () => {
    plane = await startControlPlane();
  }, 120_000);
  afterAll(() => plane?.stop());

  it('has the same functions, event source mappings, rules and routes as the template, nothing extra or missing', async () => {
    const live = await plane.runtime.wiring();

    expect(live).toEqual(describeWiring(plane.template));
  });

  it('wires every function, every queue consumer with batch failure reporting, both schedules and every route', async () => {
    const live = await plane.runtime.wiring();

    expect(live.functions.map((f) => f.name).sort()).toEqual(
      [
        'api',
        'dataset-admin',
        'dataset-close',
        'dispatcher',
        'file-input',
        'job-generator',
        'rank-updater',
        'status',
        'task-commands',
        'task-lifecycle',
        'watchdog',
      ].sort(),
    );
    expect(live.eventSources.filter((s) => s.kind === 'sqs')).toHaveLength(6);
    expect(live.eventSources.filter((s) => s.kind === 'dynamodb-stream')).toHaveLength(4);
    for (const source of live.eventSources)
      expect(source.reportBatchItemFailures, source.logicalId).toBe(true);
    expect(live.rules.filter((r) => r.trigger.kind === 'schedule')).toHaveLength(2);
    const routes = live.routes.map((r) => `${r.method} ${r.path}`).sort();
    expect(routes).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of live.routes) expect(route.authorization).toBe('AWS_IAM');
  });
});

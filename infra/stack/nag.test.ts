/**
 * cdk-nag's AwsSolutions checks on the whole app, run the way cdk-nag 3 runs (a validation
 * plugin of the app): any finding not acknowledged with its reason fails synthesis, and this
 * test names each one.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { WmsStack } from './wms-stack.js';

interface ValidationReport {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; description: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

const outdirs: string[] = [];
afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

/** The findings left after acknowledgments, as `rule at construct path` lines. */
function unacknowledgedFindings(props: ConstructorParameters<typeof WmsStack>[2]): string[] {
  const outdir = mkdtempSync(path.join(tmpdir(), 'wms-nag-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  new WmsStack(app, 'NagWms', props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
    return [];
  } catch (error) {
    const report = JSON.parse(
      readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'),
    ) as ValidationReport;
    const findings = report.pluginReports.flatMap((plugin) =>
      plugin.violations.flatMap((violation) =>
        violation.violatingConstructs.map(
          (construct) => `${plugin.pluginName} ${violation.ruleName} at ${construct.constructPath}`,
        ),
      ),
    );
    if (findings.length === 0) throw error;
    return findings;
  }
}

describe('cdk-nag AwsSolutions checks', () => {
  it('leave no unacknowledged finding on the stack', () => {
    expect(unacknowledgedFindings({ env: { account: '123456789012', region: 'eu-west-1' } })).toEqual([]);
  }, 180_000);

  it('leave none with an external store and the account and region left to deployment', () => {
    expect(unacknowledgedFindings({ externalBucketName: 'site-store' })).toEqual([]);
  }, 180_000);
});

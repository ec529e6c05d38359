import { App } from 'aws-cdk-lib';
import { WmsStack } from './stack/wms-stack.js';

/**
 * The CDK app. Context (`cdk deploy -c key=value`): `stackName` (default SpdWms),
 * `externalBucketName` (an existing S3-compatible bucket), `retainData` (default true), `tunables` (a JSON object of function settings).
 */
export function buildApp(app = new App()): { app: App; stack: WmsStack } {
  const context = (key: string): string | undefined => app.node.tryGetContext(key);
  const tunables = context('tunables');
  const stack = new WmsStack(app, context('stackName') ?? 'SpdWms', {
    externalBucketName: context('externalBucketName'),
    retainData: context('retainData') !== 'false',
    tunables: tunables ? (JSON.parse(tunables) as Record<string, string>) : undefined,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  return { app, stack };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildApp().app.synth();
}

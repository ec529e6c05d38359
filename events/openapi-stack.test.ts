/**
 * The OpenAPI document against what is deployed: the API Gateway methods of the synthesized
 * WmsStack (bundling skipped) are exactly the operations the document describes.
 */
import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { WmsStack } from '../infra/stack/wms-stack.js';
import { buildOpenApiDocument } from './openapi.js';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Reference = { Ref: string } | { 'Fn::GetAtt': [string, string] };

let deployed: string[];

/** `/tasks/{taskId}/cancel` of an AWS::ApiGateway::Resource, by following its parents to the root. */
function pathOf(resources: Record<string, Resource>, reference: Reference): string {
  if ('Fn::GetAtt' in reference) {
    expect(reference['Fn::GetAtt'][1]).toBe('RootResourceId');
    return '';
  }
  const resource = resources[reference.Ref]!;
  expect(resource.Type).toBe('AWS::ApiGateway::Resource');
  return `${pathOf(resources, resource.Properties.ParentId as Reference)}/${resource.Properties.PathPart as string}`;
}

beforeAll(() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new WmsStack(app, 'OpenApiWms');
  const resources = app.synth().getStackByName(stack.stackName).template.Resources as Record<
    string,
    Resource
  >;
  deployed = Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::ApiGateway::Method')
    .filter((method) => method.Properties.HttpMethod !== 'OPTIONS')
    .map(
      (method) =>
        `${method.Properties.HttpMethod as string} ${pathOf(resources, method.Properties.ResourceId as Reference) || '/'}`,
    );
}, 120_000);

describe('the OpenAPI document and the deployed API', () => {
  it('describe the same operations: every stack method is documented, every documented one deployed', () => {
    // Act
    const paths = buildOpenApiDocument().paths as Record<string, Record<string, unknown>>;
    const documented = Object.entries(paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );

    // Assess
    expect(deployed.length).toBeGreaterThan(0);
    expect([...deployed].sort()).toEqual([...documented].sort());
    expect(new Set(deployed).size).toBe(deployed.length);
  });
});

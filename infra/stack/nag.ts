/**
 * Acknowledgments of cdk-nag AwsSolutions findings, each with its reason, recorded on the
 * construct through CDK's `Validations.of(...).acknowledge` (cdk-nag 3). A wildcard resource
 * is acknowledged finding by finding, under the id cdk-nag gives it, so a new wildcard in the
 * same policy is still reported.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

export function acknowledge(scope: IConstruct, ruleId: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: ruleId, reason });
}

/** Acknowledges AwsSolutions-IAM5 for each of `resources` that holds a wildcard. */
export function acknowledgeWildcardResources(
  scope: IConstruct,
  resources: readonly string[],
  reason: string,
): void {
  const stack = Stack.of(scope);
  for (const resource of resources) {
    const flat = flattenCfnReference(stack.resolve(resource));
    if (flat.includes('*')) acknowledge(scope, `AwsSolutions-IAM5[Resource::${flat}]`, reason);
  }
}

/**
 * Acknowledges AwsSolutions-IAM5 for the wildcard resources of each statement of `policy`
 * whose Sid has a reason in `reasons`. A statement without a reason keeps its findings.
 */
export function acknowledgeWildcardsBySid(
  policy: iam.ManagedPolicy,
  reasons: Readonly<Record<string, string>>,
): void {
  const stack = Stack.of(policy);
  const document = stack.resolve(policy.document.toJSON()) as {
    Statement?: { Sid?: string; Resource?: unknown }[];
  };
  for (const statement of document.Statement ?? []) {
    const reason = statement.Sid === undefined ? undefined : reasons[statement.Sid];
    if (reason === undefined) continue;
    for (const resource of [statement.Resource].flat()) {
      const flat = flattenCfnReference(resource);
      if (flat.includes('*')) acknowledge(policy, `AwsSolutions-IAM5[Resource::${flat}]`, reason);
    }
  }
}

/**
 * A synthesized template's IAM grants in readable form, for the tests that pin them: each
 * resource named by its logical id without the hash (`TasksTable`, `JobsTable.StreamArn`,
 * `TasksTable/index/byState`), pseudo parameters as `<AWS::Region>`.
 */

/** Template resources; those read here (functions, policies) always have properties. */
export type TemplateResources = Record<
  string,
  { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> }
>;

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** A logical id without the 8-character hash CDK appends. */
export function readableId(logicalId: string): string {
  return logicalId.replace(/[0-9A-F]{8}$/, '');
}

export function renderResource(value: unknown): string {
  if (typeof value === 'string') return value;
  const intrinsic = value as Record<string, unknown>;
  if ('Ref' in intrinsic) {
    const id = intrinsic.Ref as string;
    return id.startsWith('AWS::') ? `<${id}>` : readableId(id);
  }
  if ('Fn::GetAtt' in intrinsic) {
    const [id, attribute] = intrinsic['Fn::GetAtt'] as [string, string];
    return attribute === 'Arn' ? readableId(id) : `${readableId(id)}.${attribute}`;
  }
  if ('Fn::Join' in intrinsic) {
    const [separator, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
    return parts.map(renderResource).join(separator);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** The Allow statements of the inline and managed policies attached to role `roleId`. */
export function statementsOfRole(resources: TemplateResources, roleId: string): Statement[] {
  return Object.values(resources)
    .filter(
      (resource) =>
        (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') &&
        ((resource.Properties.Roles ?? []) as { Ref: string }[]).some((role) => role.Ref === roleId),
    )
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
    .filter((statement) => statement.Effect === 'Allow');
}

/** Each granted resource with the sorted actions allowed on it. */
export function grantsOf(statements: readonly Statement[]): Record<string, string[]> {
  const byResource = new Map<string, Set<string>>();
  for (const statement of statements) {
    for (const resource of [statement.Resource].flat()) {
      const name = renderResource(resource);
      const actions = byResource.get(name) ?? new Set<string>();
      for (const action of [statement.Action].flat()) actions.add(action);
      byResource.set(name, actions);
    }
  }
  return Object.fromEntries(
    [...byResource]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([resource, actions]) => [resource, [...actions].sort()]),
  );
}

/** The role of each WMS function, by the function's name in its metadata. */
export function functionRoles(resources: TemplateResources, metadataKey: string): Map<string, string> {
  const roles = new Map<string, string>();
  for (const resource of Object.values(resources)) {
    const metadata = resource.Metadata?.[metadataKey] as { name: string } | undefined;
    if (resource.Type !== 'AWS::Lambda::Function' || !metadata) continue;
    const [roleId] = (resource.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    roles.set(metadata.name, roleId);
  }
  return roles;
}

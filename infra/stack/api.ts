import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type { Construct } from 'constructs';
import { type Caller, ROUTES } from '../../events/index.js';
import { apiExecutionLogs, apiLoggingOptions } from './audit-trail.js';
import { acknowledge } from './nag.js';
import type { WmsFunction } from './wms-function.js';

const API_STAGE = 'v1';

export interface WmsApiProps {
  /** The function every route is proxied to. */
  handler: WmsFunction;
  removalPolicy: RemovalPolicy;
}

/**
 * The REST API: every route of events/routes.ts, IAM (SigV4) authorization on each, proxied to
 * the api function, with the stage's access and execution logs. Built in the stack's scope
 * (see `WmsData`).
 */
export class WmsApi {
  readonly restApi: apigateway.RestApi;
  /** The ARNs of the methods each caller may invoke, for its policy. */
  readonly methodArns: Record<Caller, string[]> = { wfms: [], operator: [], pilot: [] };

  constructor(scope: Construct, props: WmsApiProps) {
    const { removalPolicy } = props;
    this.restApi = new apigateway.RestApi(scope, 'Api', {
      restApiName: `${Stack.of(scope).stackName}-api`,
      description: 'SPD WMS REST API (IAM authorization)',
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
      deployOptions: {
        stageName: API_STAGE,
        metricsEnabled: true,
        throttlingRateLimit: 1000,
        throttlingBurstLimit: 2000,
        ...apiLoggingOptions(scope, removalPolicy),
      },
      // API Gateway writes logs through the account's logging role; kept when the stack goes,
      // as every API of the account and region uses it.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
    });
    apiExecutionLogs(scope, this.restApi, API_STAGE, removalPolicy);
    acknowledge(
      this.restApi,
      'AwsSolutions-COG4',
      'Every method requires IAM (SigV4) authorization; callers are IAM principals, not Cognito users',
    );
    acknowledge(
      this.restApi,
      'AwsSolutions-APIG2',
      'The api function validates every request with the zod schemas of events/ and answers 400 naming the field',
    );
    acknowledge(
      this.restApi,
      'AwsSolutions-APIG3',
      "Only SigV4-signed requests of IAM principals reach the integration and the stage is throttled; a WAF web ACL is the deployer's choice (docs/deploy-aws.md)",
    );
    acknowledge(
      this.restApi,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'The account-level role API Gateway writes logs with; AWS maintains this policy for exactly that',
    );
    const integration = new apigateway.LambdaIntegration(props.handler.fn, { proxy: true });
    for (const spec of ROUTES) {
      const resource = this.restApi.root.resourceForPath(spec.path);
      const method = resource.addMethod(spec.method, integration, {
        operationName: spec.operationId,
        authorizationType: apigateway.AuthorizationType.IAM,
      });
      for (const caller of spec.callers) this.methodArns[caller].push(method.methodArn);
    }
  }
}

import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export interface LoggedHttpApiProps {
  readonly apiName: string;
  readonly description: string;
  readonly throttle: apigwv2.ThrottleSettings;
  readonly logRetention: logs.RetentionDays;
  /** The access log's fields between the request's identity and the caller's user agent. */
  readonly accessLogFields: Readonly<Record<string, string>>;
  readonly corsPreflight?: apigwv2.CorsPreflightOptions;
}

/**
 * An HTTP API (`<scope>/HttpApi`) with a `$default` stage (`DefaultStage`) that is throttled and
 * writes JSON access logs to a group of its own (`AccessLogs`). HttpApiProps cannot configure the
 * stage it creates itself (no throttle, no access logs), so it creates none and we add `$default`
 * with both, instead of patching the CfnStage through an escape hatch.
 */
export function loggedHttpApi(scope: Construct, props: LoggedHttpApiProps): { httpApi: apigwv2.HttpApi; stage: apigwv2.HttpStage } {
  const httpApi = new apigwv2.HttpApi(scope, 'HttpApi', {
    apiName: props.apiName,
    description: props.description,
    createDefaultStage: false,
    ...(props.corsPreflight && { corsPreflight: props.corsPreflight }),
  });
  const accessLogs = new logs.LogGroup(scope, 'AccessLogs', { retention: props.logRetention });
  const stage = httpApi.addStage('DefaultStage', {
    stageName: '$default',
    autoDeploy: true,
    throttle: props.throttle,
    accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogs), format: jsonAccessLogFormat(props.accessLogFields) },
  });
  return { httpApi, stage };
}

/** What the webhook APIs (HTTP and the front door's REST) log of every request's answer, between what names the route and what is their own. */
export function answerLogFields(): Record<string, string> {
  const field = apigateway.AccessLogField;
  return {
    status: field.contextStatus(),
    protocol: field.contextProtocol(),
    responseLength: field.contextResponseLength(),
    responseLatency: field.contextResponseLatency(),
    integrationLatency: field.contextIntegrationLatency(),
    integrationStatus: field.contextIntegrationStatus(),
  };
}

/**
 * One JSON object per request, so Logs Insights can query fields without parsing: the request's
 * id, address and time, then `fields`, then the caller's user agent.
 */
export function jsonAccessLogFormat(fields: Readonly<Record<string, string>>): apigateway.AccessLogFormat {
  const field = apigateway.AccessLogField;
  return apigateway.AccessLogFormat.custom(
    JSON.stringify({
      requestId: field.contextRequestId(),
      ip: field.contextIdentitySourceIp(),
      requestTime: field.contextRequestTime(),
      ...fields,
      userAgent: field.contextIdentityUserAgent(),
    }),
  );
}

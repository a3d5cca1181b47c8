/**
 * The front door (issue 15, finding 4): with `frontDoor`, the webhooks are served by a REST API
 * whose stage carries an AWS WAF web ACL; without it, nothing of it is in the template.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { createApp } from '../../lib/app.js';
import { CLOUDFLARE_IP_RANGES, isCidr, parseCidrList } from '../../lambda/core/cloudflare-ips.js';
import { FRONT_DOOR_STAGE, FrontDoorRule, SIGNATURE_HEADERS } from '../../lib/front-door.js';
import type { CloudflareWebhookReceiverProps } from '../../lib/webhook-receiver.js';
import { RejectReason, sign, verifyRequest, type Route } from '../../lambda/webhook/verify.js';
import { functionOf, NO_BUNDLING, onlyResource, refOf, resourcesOf, synthReceiver } from '../support/template.js';

const rulesOf = (template: Template) => onlyResource(template, 'AWS::WAFv2::WebACL')[1].Properties.Rules as any[];

describe('without the front door (the default)', () => {
  it('has no REST API, no web ACL and no IP set: nothing of it costs anything', () => {
    const template = synthReceiver({ uploads: {} });
    for (const type of ['AWS::ApiGateway::RestApi', 'AWS::WAFv2::WebACL', 'AWS::WAFv2::WebACLAssociation', 'AWS::WAFv2::IPSet']) {
      assert.equal(resourcesOf(template, type).length, 0, type);
    }
  });
});

describe('with the front door', () => {
  const template = synthReceiver({ frontDoor: {} });
  const [apiId, api] = onlyResource(template, 'AWS::ApiGateway::RestApi');
  const [functionId] = functionOf(template, 'webhook');

  it('serves the webhooks from a regional REST API instead of the HTTP API, bodies as bytes', () => {
    assert.equal(resourcesOf(template, 'AWS::ApiGatewayV2::Api').length, 0, 'no HTTP API to go around it');
    assert.deepEqual(api.Properties.EndpointConfiguration, { Types: ['REGIONAL'] });
    assert.deepEqual(api.Properties.BinaryMediaTypes, ['*/*'], 'the function gets the exact bytes, base64');
    const methods = resourcesOf(template, 'AWS::ApiGateway::Method');
    assert.deepEqual(methods.map(([, m]) => m.Properties.HttpMethod), ['POST', 'POST']);
    for (const [, method] of methods) {
      assert.equal(method.Properties.Integration.Type, 'AWS_PROXY');
      assert.deepEqual(method.Properties.Integration.Uri['Fn::Join'][1].find((part: any) => part['Fn::GetAtt']), { 'Fn::GetAtt': [functionId, 'Arn'] });
    }
    const paths = resourcesOf(template, 'AWS::ApiGateway::Resource').map(([, r]) => r.Properties.PathPart).sort();
    assert.deepEqual(paths, ['images', 'stream', 'webhooks']);
  });

  it('throttles the stage like the HTTP API would, and logs every request with WAF\'s verdict', () => {
    const [, stage] = onlyResource(template, 'AWS::ApiGateway::Stage');
    assert.equal(stage.Properties.StageName, FRONT_DOOR_STAGE);
    assert.deepEqual(stage.Properties.MethodSettings, [
      { DataTraceEnabled: false, HttpMethod: '*', ResourcePath: '/*', ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 },
    ]);
    const format = JSON.parse(stage.Properties.AccessLogSetting.Format);
    assert.equal(format.wafStatus, '$context.waf.status');
    assert.equal(format.wafResponseCode, '$context.wafResponseCode');
    assert.equal(resourcesOf(template, 'AWS::ApiGateway::Account').length, 0, 'the account-wide CloudWatch role is left alone');
  });

  it('lets API Gateway invoke the function for the two methods only, without test invocations', () => {
    // The sweep's schedule has the other invoke permission of the default receiver.
    const permissions = resourcesOf(template, 'AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'apigateway.amazonaws.com');
    assert.equal(permissions.length, 2);
    for (const [, permission] of permissions) {
      assert.equal(refOf(permission.Properties.FunctionName), functionId);
      const arn = JSON.stringify(permission.Properties.SourceArn);
      assert.match(arn, /"\/",\{"Ref":"ReceiverFrontDoorApiDeploymentStageprod[0-9A-F]{8}"\},"\/POST\/webhooks\/(images|stream)"/);
    }
  });

  it('attaches a regional web ACL to the stage: signature header required, then a per-address rate limit', () => {
    const [aclId, acl] = onlyResource(template, 'AWS::WAFv2::WebACL');
    assert.equal(acl.Properties.Scope, 'REGIONAL');
    assert.deepEqual(acl.Properties.DefaultAction, { Allow: {} });
    const [, association] = onlyResource(template, 'AWS::WAFv2::WebACLAssociation');
    assert.deepEqual(association.Properties.WebACLArn, { 'Fn::GetAtt': [aclId, 'Arn'] });
    assert.match(JSON.stringify(association.Properties.ResourceArn), new RegExp(`restapis/.*${apiId}.*/stages/.*`));

    const rules = rulesOf(template);
    assert.deepEqual(rules.map((r) => [r.Name, r.Priority]), [[FrontDoorRule.SignatureHeader, 0], [FrontDoorRule.RatePerIp, 1]]);
    const [header, rate] = rules;
    const checked = header.Statement.NotStatement.Statement.OrStatement.Statements.map((s: any) => {
      assert.deepEqual([s.SizeConstraintStatement.ComparisonOperator, s.SizeConstraintStatement.Size], ['GT', 0]);
      return s.SizeConstraintStatement.FieldToMatch.SingleHeader.Name;
    });
    assert.deepEqual(checked, ['cf-webhook-auth', 'webhook-signature', 'x-signature', 'x-cloudflare-signature']);
    assert.deepEqual(header.Action.Block.CustomResponse, { ResponseCode: 401, CustomResponseBodyKey: 'missing-signature' });
    assert.deepEqual(JSON.parse(acl.Properties.CustomResponseBodies['missing-signature'].Content), { error: 'unauthorized', reason: 'missing signature' });
    assert.deepEqual(rate.Statement.RateBasedStatement, { AggregateKeyType: 'IP', Limit: 600, EvaluationWindowSec: 60 });
    assert.equal(rate.Action.Block.CustomResponse.ResponseCode, 429);
    for (const rule of rules) assert.equal(rule.VisibilityConfig.CloudWatchMetricsEnabled, true);
  });

  it('gives the webhook URLs of the REST API stage as the stack outputs', () => {
    for (const [output, path] of [['ImagesWebhookUrl', 'webhooks/images'], ['StreamWebhookUrl', 'webhooks/stream']]) {
      const value = JSON.stringify(template.findOutputs(output!)[output!]!.Value);
      assert.ok(value.includes(`{"Ref":"${apiId}"},".execute-api."`) && value.includes(`"/${path}"`), `${output}: ${value}`);
      assert.match(value, new RegExp(`"Ref":"ReceiverFrontDoorApiDeploymentStage${FRONT_DOOR_STAGE}`));
    }
    assert.deepEqual(Object.keys(template.findOutputs('CloudflareIpv4SetArn')), []);
  });

  it('keeps the upload route on its own HTTP API, outside the web ACL', () => {
    const withUploads = synthReceiver({ frontDoor: {}, uploads: {} });
    const [, uploadsApi] = onlyResource(withUploads, 'AWS::ApiGatewayV2::Api');
    assert.match(uploadsApi.Properties.Name, /-cloudflare-uploads$/);
    withUploads.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /uploads', AuthorizationType: 'AWS_IAM' });
  });
});

describe('the header rule and the function agree', () => {
  const body = Buffer.from('{}');
  const secrets = { images: ['i'], stream: ['s'], toolkit: ['t'] };
  it('every header the rule lets through is one a scheme of verify.ts reads; without one, the function answers "missing signature" too', () => {
    const samples: Record<(typeof SIGNATURE_HEADERS)[number], [Route, string]> = {
      'cf-webhook-auth': ['images', 'guess'],
      'x-signature': ['images', sign.toolkit('guess', body)],
      'x-cloudflare-signature': ['images', sign.toolkit('guess', body)],
      'webhook-signature': ['stream', sign.stream('guess', body, 1)],
    };
    for (const header of SIGNATURE_HEADERS) {
      const [route, value] = samples[header];
      const verdict = verifyRequest({ route, headers: { [header]: value }, body, secrets, nowSeconds: 1, toleranceSeconds: 300 });
      assert.ok(!verdict.ok && verdict.reason !== RejectReason.Missing, header);
    }
    for (const route of ['images', 'stream'] as const) {
      const verdict = verifyRequest({ route, headers: { 'content-type': 'application/json' }, body, secrets, nowSeconds: 1, toleranceSeconds: 300 });
      assert.deepEqual(verdict, { ok: false, reason: RejectReason.Missing });
    }
  });
});

describe('with the front door and Cloudflare addresses only', () => {
  const template = synthReceiver({ frontDoor: { cloudflareAddressesOnly: true, rateLimitPerIp: 300, rateWindow: Duration.minutes(5) } });

  it('holds Cloudflare\'s published ranges in two IP sets, valid as AWS WAF takes them', () => {
    const sets = resourcesOf(template, 'AWS::WAFv2::IPSet').map(([, s]) => s.Properties);
    assert.deepEqual(sets.map((s) => [s.Scope, s.IPAddressVersion, s.Addresses]), [
      ['REGIONAL', 'IPV4', [...CLOUDFLARE_IP_RANGES.ipv4]],
      ['REGIONAL', 'IPV6', [...CLOUDFLARE_IP_RANGES.ipv6]],
    ]);
    assert.ok(CLOUDFLARE_IP_RANGES.ipv4.every((c) => isCidr(c, 'ipv4')) && CLOUDFLARE_IP_RANGES.ipv6.every((c) => isCidr(c, 'ipv6')));
    for (const set of sets) assert.match(set.Description, /^[a-zA-Z0-9=:#@/\-,.][a-zA-Z0-9+=:#@/\-,.\s]+[a-zA-Z0-9+=:#@/\-,.]$/, "CloudFormation's pattern");
  });

  it('refuses, first, every request but a Stream one that comes from neither set', () => {
    const ipSets = resourcesOf(template, 'AWS::WAFv2::IPSet').map(([id]) => id);
    const [first, ...rest] = rulesOf(template);
    assert.equal(first.Name, FrontDoorRule.CloudflareAddresses);
    assert.equal(first.Priority, 0);
    assert.deepEqual(rest.map((r) => [r.Name, r.Priority]), [[FrontDoorRule.SignatureHeader, 1], [FrontDoorRule.RatePerIp, 2]]);
    const [notCloudflare, notStream] = first.Statement.AndStatement.Statements;
    assert.deepEqual(
      notCloudflare.NotStatement.Statement.OrStatement.Statements.map((s: any) => s.IPSetReferenceStatement.Arn),
      ipSets.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
    );
    assert.deepEqual(notStream.NotStatement.Statement.ByteMatchStatement, {
      FieldToMatch: { UriPath: {} },
      PositionalConstraint: 'CONTAINS',
      SearchString: '/webhooks/stream',
      TextTransformations: [{ Priority: 0, Type: 'URL_DECODE' }],
    });
    assert.equal(first.Action.Block.CustomResponse.ResponseCode, 403);
    assert.deepEqual(rest[1].Statement.RateBasedStatement, { AggregateKeyType: 'IP', Limit: 300, EvaluationWindowSec: 300 });
  });

  it('outputs both IP sets for `front-door refresh-ips --stack`', () => {
    const ipSets = resourcesOf(template, 'AWS::WAFv2::IPSet').map(([id]) => id);
    template.hasOutput('CloudflareIpv4SetArn', { Value: { 'Fn::GetAtt': [ipSets[0], 'Arn'] } });
    template.hasOutput('CloudflareIpv6SetArn', { Value: { 'Fn::GetAtt': [ipSets[1], 'Arn'] } });
  });
});

describe('front door settings', () => {
  it('come from CDK context', () => {
    const { stack } = createApp({ context: { ...NO_BUNDLING, frontDoor: 'true', frontDoorRateLimit: '120', frontDoorRateWindowMinutes: '2', frontDoorCloudflareIpsOnly: 'true' } });
    const template = Template.fromStack(stack);
    assert.equal(resourcesOf(template, 'AWS::WAFv2::IPSet').length, 2);
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([Match.objectLike({ Statement: { RateBasedStatement: { AggregateKeyType: 'IP', Limit: 120, EvaluationWindowSec: 120 } } })]),
    });
  });

  it('refuse what AWS WAF would refuse at deploy time, and front door settings without the front door', () => {
    const cases: [CloudflareWebhookReceiverProps, RegExp][] = [
      [{ frontDoor: { rateLimitPerIp: 9 } }, /frontDoor.rateLimitPerIp must be an integer between 10/],
      [{ frontDoor: { rateWindow: Duration.minutes(3) } }, /1, 2, 5 or 10 minutes/],
      [{ frontDoor: { cloudflareAddressesOnly: true }, imagesPath: '/hooks/stream/images', streamPath: '/hooks/stream' }, /contains streamPath/],
    ];
    for (const [receiver, message] of cases) assert.throws(() => synthReceiver(receiver), message, JSON.stringify(receiver));
    assert.throws(() => createApp({ context: { ...NO_BUNDLING, frontDoorRateLimit: '100' } }), /frontDoorRateLimit configure the front door: add -c frontDoor=true/);
  });

  it('take a Cloudflare list only when every line is a CIDR block of the right family', () => {
    assert.deepEqual(parseCidrList('173.245.48.0/20\n103.21.244.0/22\n\n', 'ipv4'), ['173.245.48.0/20', '103.21.244.0/22']);
    assert.deepEqual(parseCidrList('2400:cb00::/32\r\n', 'ipv6'), ['2400:cb00::/32']);
    for (const [text, version, message] of [
      ['', 'ipv4', /empty/],
      ['<html>rate limited</html>', 'ipv4', /not ipv4 CIDR blocks/],
      ['2400:cb00::/32', 'ipv4', /not ipv4/],
      ['10.0.0.0/0', 'ipv4', /not ipv4/],
      ['173.245.48.0/33', 'ipv4', /not ipv4/],
    ] as const) {
      assert.throws(() => parseCidrList(text, version), message, text);
    }
  });
});

describe('the runbook', () => {
  const runbook = readFileSync(new URL('../../docs/RUNBOOK.md', import.meta.url), 'utf8');

  it('has a flood entry that says what to do first: the front door, then connect', () => {
    const section = runbook.slice(runbook.indexOf('\n## A flood of requests\n'));
    assert.ok(section.length > 1, 'a section "A flood of requests"');
    const first = section.slice(section.indexOf('**What to do first.**'));
    assert.ok(first.indexOf('-c frontDoor=true') < first.indexOf('connect --stack'), 'deploy the front door, then re-register');
    assert.match(section, /front-door refresh-ips/);
  });

  it('no longer advises lowering the stage throttle against a flood', () => {
    const sentences = runbook.replace(/\s+/g, ' ').split(/(?<=[.:;])\s/);
    const lowering = sentences.filter((s) => /\blower/i.test(s) && /throttle/.test(s));
    assert.ok(lowering.length > 0);
    for (const sentence of lowering) assert.match(sentence, /\b(not|never)\b/i, sentence);
  });
});

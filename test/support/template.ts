/** Helpers for reading synthesized templates, shared by the infra tests. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { createApp } from '../../lib/app.js';
import type { CloudflareWebhookReceiverProps } from '../../lib/webhook-receiver.js';
import { CloudflareWebhookStack } from '../../lib/webhook-stack.js';

/** CDK context that skips esbuild: enough for template checks, and far faster than a bundled synth. */
export const NO_BUNDLING: Record<string, unknown> = { 'aws:cdk:bundling-stacks': [] };

export type TemplateResource = { Type: string; Properties?: any; DeletionPolicy?: string; Metadata?: any };
export type TemplateResources = Record<string, TemplateResource>;

export function resourcesOf(template: Template, type: string): [string, TemplateResource][] {
  return Object.entries(template.findResources(type) as TemplateResources);
}

export function onlyResource(template: Template, type: string): [string, TemplateResource] {
  const found = resourcesOf(template, type);
  assert.equal(found.length, 1, `expected exactly one ${type}`);
  return found[0]!;
}

/** CloudFormation allows a single value where it allows a list (`Action`, `Resource`, …). */
export function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Logical id behind `{Ref}` or `{Fn::GetAtt: [id, …]}`; undefined for anything else (a string, `*`). */
export function refOf(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const { Ref: ref, 'Fn::GetAtt': getAtt } = value as { Ref?: unknown; 'Fn::GetAtt'?: unknown };
  if (typeof ref === 'string') return ref;
  return Array.isArray(getAtt) && typeof getAtt[0] === 'string' ? getAtt[0] : undefined;
}

/**
 * A policy resource as a readable string: `Table` for `{Ref}` or the resource's `Arn`,
 * `Table.StreamArn` for another attribute, `Table/index/byExpiry` for a join of those and text,
 * and anything else (`*`, a literal ARN) as it is.
 */
export function resourceName(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] } | undefined)?.['Fn::Join'];
  if (join && join[0] === '') return join[1].map(resourceName).join('');
  const getAtt = (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
  if (getAtt) return getAtt[1] === 'Arn' ? getAtt[0] : `${getAtt[0]}.${getAtt[1]}`;
  return refOf(value) ?? JSON.stringify(value);
}

/** `POWERTOOLS_SERVICE_NAME` of each of the construct's functions: how a test tells them apart. */
const FunctionService = {
  webhook: 'cloudflare-webhook',
  uploads: 'cloudflare-uploads',
  sweep: 'cloudflare-expiry-sweep',
  relay: 'cloudflare-relay',
} as const;
export type FunctionKind = keyof typeof FunctionService;

/** The construct's functions present in the template, by kind. */
export function functionsOf(template: Template): Partial<Record<FunctionKind, [string, TemplateResource]>> {
  const byKind: Partial<Record<FunctionKind, [string, TemplateResource]>> = {};
  for (const [id, fn] of resourcesOf(template, 'AWS::Lambda::Function')) {
    const service = fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME;
    const kind = (Object.keys(FunctionService) as FunctionKind[]).find((k) => FunctionService[k] === service);
    assert.ok(kind, `function ${id} is one of the construct's (service ${service})`);
    assert.equal(byKind[kind], undefined, `one ${kind} function`);
    byKind[kind] = [id, fn];
  }
  return byKind;
}

/** The one function of this kind. */
export function functionOf(template: Template, kind: FunctionKind): [string, TemplateResource] {
  const found = functionsOf(template)[kind];
  assert.ok(found, `the template has the ${kind} function`);
  return found;
}

/**
 * What a role may do: action → sorted `resourceName`s. Asserts along the way that the role carries
 * no managed or inline policy of its own and that every statement reaching it is a plain Allow
 * (no NotAction, NotResource or Condition), so the map is the whole of its permissions.
 */
export function roleGrants(template: Template, roleId: string): Record<string, string[]> {
  const role = (template.toJSON().Resources as TemplateResources)[roleId];
  assert.equal(role?.Type, 'AWS::IAM::Role', `${roleId} is a role of this stack`);
  assert.deepEqual(role.Properties.ManagedPolicyArns ?? [], [], `no managed policies on ${roleId}`);
  assert.deepEqual(role.Properties.Policies ?? [], [], `no inline policies on ${roleId} itself`);
  for (const [id, managed] of resourcesOf(template, 'AWS::IAM::ManagedPolicy')) {
    assert.ok(!asArray(managed.Properties.Roles).some((r) => refOf(r) === roleId), `${id} attaches to ${roleId}`);
  }
  const allowed: Record<string, string[]> = {};
  for (const [, policy] of resourcesOf(template, 'AWS::IAM::Policy')) {
    if (!asArray(policy.Properties.Roles).some((r) => refOf(r) === roleId)) continue;
    for (const statement of asArray<any>(policy.Properties.PolicyDocument.Statement)) {
      assert.equal(statement.Effect, 'Allow');
      for (const key of ['NotAction', 'NotResource', 'Condition', 'Principal']) assert.equal(statement[key], undefined, `${key} in a statement of ${roleId}`);
      const resources = asArray<unknown>(statement.Resource);
      assert.ok(resources.length > 0, 'every statement names its resources');
      for (const action of asArray<string>(statement.Action)) (allowed[action] ??= []).push(...resources.map(resourceName));
    }
  }
  return Object.fromEntries(Object.entries(allowed).map(([action, resources]) => [action, [...new Set(resources)].sort()]));
}

/** The role a function runs with. */
export function roleOf(fn: TemplateResource): string {
  const roleId = refOf(fn.Properties.Role);
  assert.ok(roleId, 'the function role is a resource of this stack');
  return roleId;
}

/** The stack as `cdk synth` makes it from these receiver props, without bundling the functions. */
export function synthReceiver(receiver?: CloudflareWebhookReceiverProps): Template {
  return Template.fromStack(new CloudflareWebhookStack(new App({ context: NO_BUNDLING }), 'Test', { receiver }));
}

/**
 * The app as `cdk synth -c key=value` builds it (every value a string), without bundling: its
 * cloud assembly goes to a scratch directory, removed once the template is read.
 */
export function synthContext(context: Readonly<Record<string, string>>): Template {
  const outdir = mkdtempSync(join(tmpdir(), 'webhook-synth-'));
  try {
    const { app, stack } = createApp({ outdir, context: { ...NO_BUNDLING, ...context } });
    return Template.fromJSON(app.synth().getStackArtifact(stack.artifactId).template);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Helpers for reading synthesized templates, shared by the infra tests. */
import assert from 'node:assert/strict';
import type { Template } from 'aws-cdk-lib/assertions';

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

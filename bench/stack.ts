/**
 * What the cost model needs from the synthesized stack, read from the template `buildAssets()`
 * just produced rather than restated: the webhook's and the relay's memory, architecture, log
 * format and environment, the table's secondary indexes, and the API's access-log format.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface FunctionFacts {
  readonly memoryMB: number;
  readonly architecture: string;
  readonly runtime: string;
  /** Literal environment variables; values the template leaves to CloudFormation (Ref, GetAtt) are omitted. */
  readonly environment: Record<string, string>;
  /** The function's LoggingConfig: `Text` (default) or `JSON`, and the system log level (JSON only). */
  readonly logFormat: string;
  readonly systemLogLevel: string | undefined;
}

/** The webhook function's facts, with the relay's and the stack's beside them. */
export interface StackFacts extends FunctionFacts {
  readonly relay: FunctionFacts;
  readonly globalSecondaryIndexes: readonly GsiFacts[];
  /** `$context.*` template of one access-log line, or undefined when access logging is off. */
  readonly accessLogFormat: string | undefined;
}

export interface GsiFacts {
  readonly name: string;
  readonly keys: readonly string[];
  readonly projection: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  readonly nonKeyAttributes: readonly string[];
}

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
}

/** Function facts of one function, found by its asset (`asset.<hash>`), from the resources of one template. */
function functionFacts(resources: readonly Resource[], assetName: string): FunctionFacts | undefined {
  const assetHash = assetName.replace(/^asset\./, '');
  const fn = resources.find((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties?.Code?.S3Key ?? '').startsWith(assetHash));
  if (!fn) return undefined;
  const props = fn.Properties!;
  return {
    memoryMB: Number(props.MemorySize ?? 128),
    architecture: (props.Architectures as string[] | undefined)?.[0] ?? 'x86_64',
    runtime: String(props.Runtime),
    logFormat: String(props.LoggingConfig?.LogFormat ?? 'Text'),
    systemLogLevel: props.LoggingConfig?.SystemLogLevel,
    environment: Object.fromEntries(
      Object.entries((props.Environment?.Variables ?? {}) as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    ),
  };
}

/** `assets` tells the webhook and relay functions apart from the others (`asset.<hash>` of each). */
export function readStackFacts(templates: readonly string[], assets: { readonly webhook: string; readonly relay: string }): StackFacts {
  for (const file of templates) {
    const resources = Object.values((JSON.parse(readFileSync(file, 'utf8')) as { Resources?: Record<string, Resource> }).Resources ?? {});
    const webhook = functionFacts(resources, assets.webhook);
    if (!webhook) continue;
    const relay = functionFacts(resources, assets.relay);
    if (!relay) throw new Error(`no relay function in ${basename(file)}`);
    const tables = resources.filter((r) => r.Type === 'AWS::DynamoDB::Table' || r.Type === 'AWS::DynamoDB::GlobalTable');
    if (tables.length !== 1) throw new Error(`expected one DynamoDB table in ${basename(file)}, found ${tables.length}`);
    const stages = resources.filter((r) => r.Type === 'AWS::ApiGatewayV2::Stage');
    return {
      ...webhook,
      relay,
      globalSecondaryIndexes: ((tables[0]!.Properties?.GlobalSecondaryIndexes ?? []) as any[]).map((gsi) => ({
        name: String(gsi.IndexName),
        keys: (gsi.KeySchema as { AttributeName: string }[]).map((k) => k.AttributeName),
        projection: gsi.Projection?.ProjectionType ?? 'ALL',
        nonKeyAttributes: gsi.Projection?.NonKeyAttributes ?? [],
      })),
      accessLogFormat: stages.map((s) => s.Properties?.AccessLogSettings?.Format).find((f): f is string => typeof f === 'string'),
    };
  }
  throw new Error(`no AWS::Lambda::Function with asset ${assets.webhook} in ${templates.join(', ')}`);
}

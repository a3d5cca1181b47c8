/**
 * What the cost model needs from the synthesized stack, read from the template `buildAssets()`
 * just produced rather than restated: the function's memory, architecture and environment, the
 * table's secondary indexes, and the API's access-log format.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface StackFacts {
  readonly memoryMB: number;
  readonly architecture: string;
  readonly runtime: string;
  /** Literal environment variables; values the template leaves to CloudFormation (Ref, GetAtt) are omitted. */
  readonly environment: Record<string, string>;
  readonly globalSecondaryIndexes: readonly GsiFacts[];
  /** The function's LoggingConfig: `Text` (default) or `JSON`, and the system log level (JSON only). */
  readonly logFormat: string;
  readonly systemLogLevel: string | undefined;
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

/** `assetName` (`asset.<hash>`) tells the webhook function apart from any other function in the stack. */
export function readStackFacts(templates: readonly string[], assetName: string): StackFacts {
  const assetHash = assetName.replace(/^asset\./, '');
  for (const file of templates) {
    const name = basename(file);
    const resources = Object.values(
      (JSON.parse(readFileSync(file, 'utf8')) as { Resources?: Record<string, Resource> }).Resources ?? {},
    );
    const fn = resources.find((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties?.Code?.S3Key ?? '').startsWith(assetHash));
    if (!fn) continue;
    const props = fn.Properties!;
    const tables = resources.filter((r) => r.Type === 'AWS::DynamoDB::Table' || r.Type === 'AWS::DynamoDB::GlobalTable');
    if (tables.length !== 1) throw new Error(`expected one DynamoDB table in ${name}, found ${tables.length}`);
    const stages = resources.filter((r) => r.Type === 'AWS::ApiGatewayV2::Stage');
    return {
      memoryMB: Number(props.MemorySize ?? 128),
      architecture: (props.Architectures as string[] | undefined)?.[0] ?? 'x86_64',
      runtime: String(props.Runtime),
      logFormat: String(props.LoggingConfig?.LogFormat ?? 'Text'),
      systemLogLevel: props.LoggingConfig?.SystemLogLevel,
      environment: Object.fromEntries(
        Object.entries((props.Environment?.Variables ?? {}) as Record<string, unknown>).filter(
          (entry): entry is [string, string] => typeof entry[1] === 'string',
        ),
      ),
      globalSecondaryIndexes: ((tables[0]!.Properties?.GlobalSecondaryIndexes ?? []) as any[]).map((gsi) => ({
        name: String(gsi.IndexName),
        keys: (gsi.KeySchema as { AttributeName: string }[]).map((k) => k.AttributeName),
        projection: gsi.Projection?.ProjectionType ?? 'ALL',
        nonKeyAttributes: gsi.Projection?.NonKeyAttributes ?? [],
      })),
      accessLogFormat: stages.map((s) => s.Properties?.AccessLogSettings?.Format).find((f): f is string => typeof f === 'string'),
    };
  }
  throw new Error(`no AWS::Lambda::Function with asset ${assetHash} in ${templates.join(', ')}`);
}

/**
 * Attribution variant of lambda/log.ts: a stand-in for `@aws-lambda-powertools/logger` with its
 * lean formatter, covering exactly what the handlers use (`createLogger()`, `addContext`,
 * `info`/`warn`/`error` with attributes) and writing the same JSON keys the shipped logger writes
 * (no keys that are constant per log group), so the bundle and cold-import difference is the
 * dependency's weight and not a change in what gets logged.
 */
import type { Context } from 'aws-lambda';

type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const THRESHOLD: Record<string, number> = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 };
const RANK: Record<Level, number> = { DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20 };

export class Logger {
  private readonly threshold =
    THRESHOLD[(process.env.AWS_LAMBDA_LOG_LEVEL || process.env.POWERTOOLS_LOG_LEVEL || 'INFO').toUpperCase()] ?? 12;
  private context: Record<string, unknown> = {};
  private coldStart = true;

  addContext(context: Context): void {
    this.context = { cold_start: this.coldStart, function_request_id: context.awsRequestId };
    this.coldStart = false;
  }

  debug(message: string, attributes?: Record<string, unknown>): void {
    this.write('DEBUG', message, attributes);
  }
  info(message: string, attributes?: Record<string, unknown>): void {
    this.write('INFO', message, attributes);
  }
  warn(message: string, attributes?: Record<string, unknown>): void {
    this.write('WARN', message, attributes);
  }
  error(message: string, attributes?: Record<string, unknown>): void {
    this.write('ERROR', message, attributes);
  }

  private write(level: Level, message: string, attributes: Record<string, unknown> = {}): void {
    if (RANK[level] < this.threshold) return;
    const traceId = process.env._X_AMZN_TRACE_ID?.match(/Root=([^;]+)/)?.[1];
    const record = {
      level,
      message,
      timestamp: new Date().toISOString(),
      ...this.context,
      ...(traceId ? { xray_trace_id: traceId } : {}),
      ...attributes,
    };
    let line: string;
    try {
      line = JSON.stringify(record, errorsAsObjects);
    } catch {
      line = JSON.stringify({ level, message, timestamp: record.timestamp, unserializable: true });
    }
    process.stdout.write(`${line}\n`);
  }
}

function errorsAsObjects(_key: string, value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  return { name: value.name, message: value.message, stack: value.stack, ...(value.cause !== undefined ? { cause: value.cause } : {}) };
}

/** What lambda/log.ts exports to the handlers. */
export function createLogger(): Logger {
  return new Logger();
}

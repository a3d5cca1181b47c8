/** Pure text helpers shared by the commands; no I/O, so they are tested directly. */
import { UsageError } from './errors.js';

/** Left-aligned columns two spaces apart; no trailing blanks, so output diffs cleanly. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Milliseconds per unit of the durations the flags take (`--since`, `--at`, `--grace`). */
export const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90s`, `15m`, `1h`, `2d` in milliseconds; undefined for anything else. */
export function durationMs(text: string): number | undefined {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : undefined;
}

/**
 * `--since` and `--at`: a duration back from now (`90s`, `15m`, `1h`, `7d`) or an ISO 8601 instant,
 * returned as the ISO string the table stores, so it compares as text with `updatedAt`.
 */
export function parseSince(text: string, now: Date, flag = '--since'): string {
  const relative = durationMs(text);
  if (relative !== undefined) return new Date(now.getTime() - relative).toISOString();
  const absolute = new Date(text);
  // A bare date such as 2024-06-01 parses too; anything Date cannot read does not.
  if (!/^\d{4}-\d\d-\d\d/.test(text) || Number.isNaN(absolute.getTime())) {
    throw new UsageError(`${flag} takes a duration like 30s, 15m, 1h, 7d or an ISO time like 2024-06-01T12:00:00Z, got '${text}'`);
  }
  return absolute.toISOString();
}

export function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new UsageError(`${name} takes a positive whole number, got '${text}'`);
  return value;
}

export const transition = (from: string, to: string) => `${from} → ${to}`;

/** `1 item`, `2 items`. */
export const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** `code: message` of a recorded error (either part may be missing); '' for anything else. */
export function errorText(error: unknown): string {
  if (typeof error !== 'object' || error === null) return '';
  const { code, message } = error as { code?: string; message?: string };
  return [code, message].filter(Boolean).join(': ');
}

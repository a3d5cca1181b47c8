/** How the bench prints figures and tables (plain text for the terminal, Markdown for the documents). */

export const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
export const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
export const times = (v: number) => `${v.toFixed(2)}×`;
export const dollars = (v: number, digits = 2) => `$${v.toFixed(digits)}`;
export const signed = (n: number) => `${n > 0 ? '+' : ''}${n.toLocaleString('en-US')}`;
export const verdict = (ok: boolean) => (ok ? 'met' : 'missed');

export type Rows = readonly (readonly string[])[];

/** Columns padded to their widest cell; the first row is the header. */
export function table(rows: Rows): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
      return i === 0 ? `${line}\n${widths.map((n) => '-'.repeat(n)).join('  ')}` : line;
    })
    .join('\n');
}

export function markdownTable(rows: Rows): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${rows[0]!.map(esc).join(' | ')} |`, `|${rows[0]!.map(() => '---').join('|')}|`, ...rows.slice(1).map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

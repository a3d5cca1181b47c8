/**
 * Captures what the function under test logs (its Powertools JSON lines and EMF metric blobs
 * on stdout/stderr) for a whole suite, and finds secrets or signatures in it. The function runs
 * in the test process, so its log lines pass through this process's streams; everything else
 * (the test runner's own output) passes through untouched.
 */

export interface LogCapture {
  /** Every captured log line, joined. */
  text(): string;
  /** Number of captured log lines. */
  lines(): number;
  stop(): void;
}

/** A Powertools log line (`{"level":…`) or an EMF blob of Powertools Metrics (`{"_aws":…`). */
const LOG_LINE = /^\s*\{"(?:level|_aws)":/;

export function captureLogs(): LogCapture {
  const captured: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write.bind(stream));
  streams.forEach((stream, i) => {
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
      if (LOG_LINE.test(text)) {
        captured.push(text);
        const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      }
      return (originals[i] as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
  });
  let stopped = false;
  return {
    text: () => captured.join(''),
    lines: () => captured.join('').match(/\{"level":/g)?.length ?? 0,
    stop: () => {
      if (stopped) return;
      stopped = true;
      streams.forEach((stream, i) => {
        stream.write = originals[i] as typeof stream.write;
      });
    },
  };
}

/**
 * The values in `sensitive` that occur in `text`, plus any run of 64 hex digits (the size of
 * an HMAC-SHA256 signature or of the generated secrets): nothing the function logs on purpose
 * is that long (event ids are 32, image ids are UUIDs).
 */
export function findLeaks(text: string, sensitive: Iterable<string>): string[] {
  const leaks: string[] = [];
  // Tokens split on anything that is not a letter or digit: a value embedded in JSON, a header
  // rendering (`sig1=…`) or an error message still shows up as a token of its own.
  const tokens = new Set(text.split(/[^A-Za-z0-9]+/));
  for (const value of sensitive) {
    if (value.length < 12) continue; // Too short to tell from ordinary words.
    const alphanumeric = /^[A-Za-z0-9]+$/.test(value);
    if (alphanumeric ? tokens.has(value) : text.includes(value)) leaks.push(value);
  }
  // Stack traces name the bundle's directory, `asset.<sha256 of the code>`: a hash, not a secret.
  for (const match of text.replace(/asset\.[0-9a-f]{64}/g, 'asset').matchAll(/[0-9a-fA-F]{64,}/g)) leaks.push(match[0]);
  return leaks;
}

/** `abcdef…` (first 6 characters): enough to find a leak, not enough to repeat it. */
export const redact = (value: string) => `${value.slice(0, 6)}…`;

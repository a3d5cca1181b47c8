/**
 * Cloudflare API tokens for `connect`, never from the command line: a flag's value lands in the
 * shell's history and in every process listing (`ps`, /proc/<pid>/cmdline) while the command
 * runs. A token comes from its environment variable, or from standard input with
 * `--token-stdin <kind>` (one token per invocation): piped (`… | npm run connect -- --token-stdin api`)
 * or, when standard input is a terminal, typed at a prompt that does not echo.
 */
import { UsageError } from './errors.js';

export const TokenKind = {
  /** Stream Write and Notifications Write: what `connect` itself calls Cloudflare with. */
  Api: 'api',
  /** Images Write: stored for `POST /uploads`. */
  Uploads: 'uploads',
  /** Images Read and Stream Read: stored for the receiver to confirm deliveries with Cloudflare's API. */
  Read: 'read',
} as const;
export type TokenKind = (typeof TokenKind)[keyof typeof TokenKind];

export const TOKEN_ENV: Readonly<Record<TokenKind, string>> = {
  api: 'CLOUDFLARE_API_TOKEN',
  uploads: 'CLOUDFLARE_UPLOADS_API_TOKEN',
  read: 'CLOUDFLARE_READ_API_TOKEN',
};

/** Flags that once took a token (or look as if they would): declared only to refuse them with directions. */
const REFUSED_TOKEN_FLAGS: Readonly<Record<string, TokenKind>> = {
  'api-token': 'api',
  'uploads-token': 'uploads',
  'read-token': 'read',
};

export const tokenOptions = {
  'token-stdin': { type: 'string' },
  ...Object.fromEntries(Object.keys(REFUSED_TOKEN_FLAGS).map((flag) => [flag, { type: 'string' }])),
} as Readonly<Record<string, { readonly type: 'string' }>>;

/** Reads what standard input holds (piped) or what the user types (a terminal, without echo). */
export type ReadInput = (prompt: string) => Promise<string>;

export type Tokens = Partial<Record<TokenKind, string>>;

export function howToPass(kind: TokenKind): string {
  return `set $${TOKEN_ENV[kind]}, or give it on standard input with --token-stdin ${kind}`;
}

/** The tokens the environment and standard input hold; a token flag is refused, naming the way that works. */
export async function readTokens(
  flags: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
  readInput: ReadInput,
): Promise<Tokens> {
  for (const [flag, kind] of Object.entries(REFUSED_TOKEN_FLAGS)) {
    if (flags[flag] !== undefined) {
      // The value is already in the history by now; saying so is the useful part.
      throw new UsageError(
        `--${flag} is not accepted: a token on the command line lands in the shell history and the process list. ` +
          `Instead, ${howToPass(kind)}; and if that command line was shared or logged, roll the token in Cloudflare's dashboard`,
      );
    }
  }
  const tokens: Tokens = {};
  for (const kind of Object.values(TokenKind)) {
    const value = env[TOKEN_ENV[kind]];
    if (value) tokens[kind] = value;
  }
  const fromStdin = flags['token-stdin'];
  if (fromStdin === undefined) return tokens;
  if (!isTokenKind(fromStdin)) throw new UsageError(`--token-stdin is ${Object.values(TokenKind).join(', ')} (one per run), got '${String(fromStdin)}'`);
  if (tokens[fromStdin] !== undefined) throw new UsageError(`--token-stdin ${fromStdin} and $${TOKEN_ENV[fromStdin]} both give the ${fromStdin} token: use one`);
  tokens[fromStdin] = parseToken(await readInput(`Cloudflare ${fromStdin} token: `), fromStdin);
  return tokens;
}

function isTokenKind(value: unknown): value is TokenKind {
  return (Object.values(TokenKind) as unknown[]).includes(value);
}

/** One token, on one line; surrounding blanks and the final newline are not part of it. */
export function parseToken(input: string, kind: TokenKind): string {
  const token = input.trim();
  if (!token) throw new UsageError(`--token-stdin ${kind}: standard input was empty`);
  if (/\s/.test(token)) throw new UsageError(`--token-stdin ${kind}: standard input holds more than one word; give one token`);
  return token;
}

interface InputStream extends NodeJS.ReadableStream {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/**
 * The CLI's standard input: all of it when piped; at a terminal, one line typed after `prompt`
 * (written to `output`, the terminal's stderr), with echo off. Ctrl-C or Ctrl-D abandons it.
 */
export function standardInput(input: InputStream = process.stdin, output: NodeJS.WritableStream = process.stderr): ReadInput {
  return async (prompt) => (input.isTTY && input.setRawMode ? promptHidden(prompt, input, output) : readAll(input));
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function promptHidden(prompt: string, input: InputStream, output: NodeJS.WritableStream): Promise<string> {
  output.write(prompt);
  input.setRawMode!(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (error?: Error) => {
      input.removeListener('data', onData);
      input.setRawMode!(false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || char === '\u0004') return finish(new UsageError('no token typed'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on('data', onData);
  });
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { UsageError } from '../../cli/errors.js';
import { parseToken, readTokens, standardInput } from '../../cli/tokens.js';

const never = async (): Promise<string> => assert.fail('standard input must not be read');

describe('connect tokens', () => {
  it('come from their environment variables', async () => {
    const env = { CLOUDFLARE_API_TOKEN: 'a', CLOUDFLARE_UPLOADS_API_TOKEN: 'u', CLOUDFLARE_READ_API_TOKEN: 'r' };
    assert.deepEqual(await readTokens({}, env, never), { api: 'a', uploads: 'u', read: 'r' });
  });

  it('or one of them from standard input, trimmed of its newline', async () => {
    const prompts: string[] = [];
    const tokens = await readTokens({ 'token-stdin': 'read' }, { CLOUDFLARE_API_TOKEN: 'a' }, async (prompt) => (prompts.push(prompt), '  r-token\r\n'));
    assert.deepEqual(tokens, { api: 'a', read: 'r-token' });
    assert.deepEqual(prompts, ['Cloudflare read token: ']);
  });

  it('refuse every token flag, naming the variable and --token-stdin, without echoing the value', async () => {
    for (const [flag, variable] of [['api-token', 'CLOUDFLARE_API_TOKEN'], ['uploads-token', 'CLOUDFLARE_UPLOADS_API_TOKEN'], ['read-token', 'CLOUDFLARE_READ_API_TOKEN']]) {
      await assert.rejects(readTokens({ [flag!]: 'secret-value' }, {}, never), (error: Error) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, new RegExp(`^--${flag} is not accepted: .*\\$${variable}, or give it on standard input with --token-stdin`));
        assert.ok(!error.message.includes('secret-value'));
        return true;
      });
    }
  });

  it('refuse an unknown kind, two sources for one token, empty input and more than one word', async () => {
    await assert.rejects(readTokens({ 'token-stdin': 'admin' }, {}, never), /--token-stdin is api, uploads, read/);
    await assert.rejects(readTokens({ 'token-stdin': 'api' }, { CLOUDFLARE_API_TOKEN: 'a' }, never), /both give the api token/);
    assert.throws(() => parseToken('\n', 'api'), /standard input was empty/);
    assert.throws(() => parseToken('one\ntwo\n', 'api'), /more than one word/);
  });

  it('are read from a pipe whole', async () => {
    const pipe = new PassThrough();
    const reading = standardInput(pipe, new PassThrough())('ignored prompt');
    pipe.end('piped-token\n');
    assert.equal(await reading, 'piped-token\n');
  });

  it('are typed at a terminal without echo: only the prompt and a newline are written', async () => {
    const terminal = Object.assign(new PassThrough(), { isTTY: true, modes: [] as boolean[], setRawMode(mode: boolean) {
      this.modes.push(mode);
      return this;
    } });
    const screen = new PassThrough();
    let shown = '';
    screen.setEncoding('utf8').on('data', (chunk: string) => (shown += chunk));
    const typing = standardInput(terminal, screen)('Cloudflare api token: ');
    terminal.write('tok-');
    terminal.write('typx\u007fed\r');
    assert.equal(await typing, 'tok-typed');
    assert.equal(shown, 'Cloudflare api token: \n');
    assert.deepEqual(terminal.modes, [true, false], 'raw mode on while typing, off after');
  });

  it('typed at a terminal, Ctrl-C abandons the prompt', async () => {
    const terminal = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => terminal });
    const typing = standardInput(terminal, new PassThrough())('token: ');
    terminal.write('abc\u0003');
    await assert.rejects(typing, /no token typed/);
  });
});

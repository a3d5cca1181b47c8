/**
 * `images upload`: a direct creator upload end to end against the local receiver, the way a
 * product's backend and its user's browser make one: `POST /uploads` for a one-time upload URL,
 * then the file posted to that URL (the multipart form `curl -F file=@cat.jpg <uploadURL>` sends),
 * which the local stand-in of Cloudflare answers and follows with its webhook. It prints what
 * became of the item. Local mode only: a deployed route wants IAM or a JWT, which this does not sign.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { sampleFiles } from '../local/cloudflare-files.js';
import { CliError, UsageError } from './errors.js';
import { positiveInteger } from './format.js';
import { documentClient, getItem } from './images.js';
import type { Command } from './index.js';
import { required, resolveTarget, type TargetFlags } from './target.js';

export const UPLOAD_USAGE = `  images upload [<id>] [--file PATH] [--wait SECONDS]
                                local mode: POST /uploads, then the file to the upload URL it returns,
                                as a browser does; prints what became of the item (default: a 1x1 PNG,
                                a Cloudflare-chosen id, 10 s to wait for the webhook)
`;

export const imagesUploadCommand: Command = {
  options: { file: { type: 'string' }, wait: { type: 'string' } },
  positionals: ['id?'],
  run: async ({ flags, positionals, io }) => {
    const target = await resolveTarget(flags as TargetFlags, { env: io.env });
    if (!target.uploadsUrl) throw new UsageError('images upload works against npm start only (a deployed /uploads wants IAM or a JWT): start it with `npm start`');
    const file = await fileToSend(flags.file as string | undefined);
    const waitMs = positiveInteger('--wait', flags.wait as string | undefined, 10) * 1000;

    const created = await post(target.uploadsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(positionals[0] ? { id: positionals[0] } : {}) });
    if (created.status !== 201) throw new CliError(`POST ${target.uploadsUrl} → ${created.status} ${created.text}`);
    const { id, uploadURL, expiresAt } = JSON.parse(created.text) as { id: string; uploadURL: string; expiresAt: string };
    io.out(`POST ${target.uploadsUrl}  → 201 ${id}, upload URL ${uploadURL} (until ${expiresAt})`);

    const form = new FormData();
    form.append('file', new Blob([file.bytes], { type: file.type }), file.name);
    const sent = await post(uploadURL, { method: 'POST', body: form });
    io.out(`POST ${uploadURL}  (file ${file.name}, ${file.bytes.length} bytes)  → ${sent.status}`);
    if (sent.status >= 300) throw new CliError(`Cloudflare refused the file: ${sent.text}`);

    const client = documentClient(target.clientConfig);
    const tableName = required(target, 'tableName');
    const deadline = Date.now() + waitMs;
    let status = (await getItem(client, tableName, id)).status;
    while (status === 'pending' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await getItem(client, tableName, id)).status;
    }
    io.out(
      status === 'pending'
        ? `${id}: still pending after ${waitMs / 1000} s: no webhook arrived (npm start -- --drop-webhooks loses them); npm run cli -- images sync ${id} asks Cloudflare`
        : `${id}: pending → ${status}  (Cloudflare's webhook)`,
    );
  },
};

async function fileToSend(path: string | undefined): Promise<{ name: string; type: string; bytes: Uint8Array }> {
  if (path === undefined) return sampleFiles.png;
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`--file ${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  return { name: basename(path), type: 'application/octet-stream', bytes };
}

async function post(url: string, init: RequestInit): Promise<{ status: number; text: string }> {
  try {
    const response = await fetch(url, init);
    return { status: response.status, text: await response.text() };
  } catch (error) {
    throw new CliError(`POST ${url} failed: ${(error as Error).message}; is npm start running?`);
  }
}

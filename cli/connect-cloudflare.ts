/** The Cloudflare SDK as `connect` uses it: one client, and calls whose failures read as one line. */
import Cloudflare, { APIError, NotFoundError } from 'cloudflare';
import { CLOUDFLARE_API } from '../lambda/core/cloudflare.js';
import type { ConnectSettings } from './connect-types.js';
import { CliError } from './errors.js';

export function cloudflareClient(settings: ConnectSettings): Cloudflare {
  return new Cloudflare({
    apiToken: settings.apiToken,
    // Explicit, so nothing but the settings decides where requests go or how they authenticate.
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    baseURL: settings.baseURL ?? CLOUDFLARE_API,
    maxRetries: settings.maxRetries ?? 2,
    timeout: 30_000,
  });
}

/** Runs an SDK call; Cloudflare's refusal becomes one line naming what failed and why. */
export async function call<T, F = never>(action: string, run: () => Promise<T>, options?: { notFound: F }): Promise<T | F> {
  try {
    return await run();
  } catch (error) {
    if (options && 'notFound' in options && error instanceof NotFoundError) return options.notFound;
    // The SDK reports an answer it never got (refused, timed out) as an APIError without a status.
    if (error instanceof APIError && error.status === undefined) {
      throw new CliError(`could not reach Cloudflare to ${action}: ${error.message}${error.cause ? ` (${(error.cause as Error).message})` : ''}`, 1, { cause: error });
    }
    if (error instanceof APIError) {
      const errors = ((error.errors ?? []) as { code?: number; message?: string }[]).map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ');
      const hint = error.status === 401 || error.status === 403 ? ' (the API token needs Stream Write and Notifications Write on this account)' : '';
      throw new CliError(`Cloudflare refused to ${action}: HTTP ${error.status}${errors ? `: ${errors}` : ''}${hint}`, 1, { cause: error });
    }
    throw new CliError(`could not ${action}: ${(error as Error).message}`, 1, { cause: error });
  }
}

/** Every item of a paginated list. */
export async function listAll<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of pages) all.push(item);
  return all;
}

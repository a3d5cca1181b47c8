import { ItemKind } from '../core/contract.js';
import { recordedItem } from '../core/decide.js';
import { CloudflareApiError, type DirectUpload } from '../core/cloudflare.js';
import type { DirectUploadClient } from '../adapters/cloudflare.js';
import { CloudflareUploadError, UploadConflictError } from './errors.js';
import { directUploadFields, type UploadRequest } from './request.js';
import type { Item } from '../core/item.js';
import type { ItemStore } from '../core/ports.js';

/**
 * The upload route's path, in order: Cloudflare first, then the table. A failed Cloudflare
 * call leaves nothing behind; a failed write leaves only Cloudflare's draft, which nobody
 * holds the URL of and which Cloudflare drops when its window ends.
 */

export interface UploadPorts {
  readonly cloudflare: DirectUploadClient;
  readonly store: Pick<ItemStore, 'create'>;
  readonly now: () => Date;
}

export interface UploadCreated {
  readonly id: string;
  readonly uploadURL: string;
  readonly expiresAt: string;
}

export async function createUpload(request: UploadRequest, ports: UploadPorts): Promise<UploadCreated> {
  const upload = await ports.cloudflare.create(directUploadFields(request)).catch((error: unknown) => {
    throw error instanceof CloudflareApiError ? new CloudflareUploadError(error) : error;
  });
  // Conditional: a custom id the table already holds is never overwritten.
  if (!(await ports.store.create(pendingItem(request, upload, ports.now())))) throw new UploadConflictError(upload.id);
  return { id: upload.id, uploadURL: upload.uploadURL, expiresAt: request.expiresAt };
}

/**
 * The item a webhook will later move on: the one the receiver records itself (`recordedItem`,
 * `pending` at the lowest precedence), so any report from Cloudflare applies to it; `expiresAt` puts it
 * in the `byExpiry` index the sweep reads, until the first report that closes the upload
 * removes it (`decide`).
 */
export function pendingItem(request: UploadRequest, upload: DirectUpload, now: Date): Item {
  return {
    ...recordedItem(ItemKind.Image, upload.id, now),
    expiresAt: request.expiresAt,
    requireSignedURLs: request.requireSignedURLs,
    ...(request.metadata !== undefined && { metadata: request.metadata }),
    ...(request.creator !== undefined && { creator: request.creator }),
    ...(request.requestedBy !== undefined && { requestedBy: request.requestedBy }),
    recordedFrom: 'upload',
  };
}

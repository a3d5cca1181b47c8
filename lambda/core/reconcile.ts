import { ImageStatus, ItemKind, VideoStatus } from './contract.js';
import type { ImageTruth, VideoTruth } from './cloudflare.js';
import { ReportSource, type StatusReport } from './item.js';

/**
 * Cloudflare's answer as a status report, for whoever asked: the webhook confirming a delivery, the
 * sweep reconciling an item whose webhook never came, `images sync`. Pure. What each caller does
 * when the answer settles nothing (an image still a draft, a video still processing) is its own.
 */

export interface Subject {
  readonly kind: ItemKind;
  readonly id: string;
}

/** Code of the error recorded when Cloudflare has no such image or video. */
export const NOT_FOUND = 'NOT_FOUND' as const;

/**
 * The report Cloudflare's answer settles: an image it has (and that is no longer a draft) is
 * uploaded, at Cloudflare's upload time; a video ready or failed is that, at its `modified`; one
 * Cloudflare does not know failed. `undefined` for a draft or a video still processing.
 */
export function reportFromApi(subject: Subject, truth: ImageTruth | VideoTruth, now: Date): StatusReport | undefined {
  const base = { kind: subject.kind, id: subject.id, source: ReportSource.CloudflareApi } as const;
  switch (truth.state) {
    case 'missing': {
      const status = subject.kind === ItemKind.Image ? ImageStatus.Failed : VideoStatus.Error;
      const message = `Cloudflare has no ${subject.kind} ${subject.id}`;
      return { ...base, status, occurredAt: now.toISOString(), attributes: {}, error: { code: NOT_FOUND, message } };
    }
    case 'uploaded':
      return { ...base, status: ImageStatus.Uploaded, occurredAt: truth.uploadedAt ?? now.toISOString(), attributes: truth.attributes };
    case 'ready':
    case 'error':
      return {
        ...base,
        status: truth.state === 'ready' ? VideoStatus.Ready : VideoStatus.Error,
        occurredAt: truth.modifiedAt ?? now.toISOString(),
        attributes: truth.attributes,
        ...(truth.error && { error: truth.error }),
      };
    default:
      return undefined;
  }
}

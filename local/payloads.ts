import { Scheme, sign } from '../lambda/webhook/verify.js';

/**
 * Deliveries as Cloudflare (and the seed's toolkit) send them, for local tooling and tests.
 * Shapes follow the seed's documented payloads, Cloudflare's Notifications envelope and
 * Cloudflare Stream's documented video object.
 */

export const payloads = {
  /** Seed: "Upload Complete". */
  imageUploaded(id: string, uploaded: string, extra: Record<string, unknown> = {}) {
    return {
      id,
      uploaded,
      variants: [
        `https://imagedelivery.net/Vi7wi5KSItxGFsWRG2Us6Q/${id}/public`,
        `https://imagedelivery.net/Vi7wi5KSItxGFsWRG2Us6Q/${id}/thumbnail`,
      ],
      metadata: { key: 'value' },
      requireSignedURLs: true,
      ...extra,
    };
  },
  /** Seed: "Upload Failed". */
  imageFailed(id: string, timestamp: string, error = 'Image processing failed') {
    return { id, error, timestamp };
  },
  /** Cloudflare Notifications envelope carrying an Images event. */
  notification(data: Record<string, unknown>, ts: number, text = 'Image upload complete') {
    return {
      name: 'Images upload notifications',
      text,
      data,
      ts,
      account_id: '023e105f4ecef8ad9ca31a8372d0c353',
      policy_id: 'policy-local',
      policy_name: 'Images uploads',
      alert_type: 'image_notification',
    };
  },
  /** The dashboard's "Save and Test" message. */
  testPing() {
    return { text: 'Hello World! This is a test message sent from https://cloudflare.com. If you can see this, your webhook is configured properly.' };
  },
  /** Cloudflare Stream: video ready. */
  videoReady(uid: string, modified: string) {
    return {
      uid,
      creator: null,
      thumbnail: `https://customer-f33zs165nr7gyfy4.cloudflarestream.com/${uid}/thumbnails/thumbnail.jpg`,
      thumbnailTimestampPct: 0,
      readyToStream: true,
      status: { state: 'ready', pctComplete: '100.000000', errorReasonCode: '', errorReasonText: '' },
      meta: { name: 'clip.mp4' },
      created: '2019-01-01T01:00:00.474936Z',
      modified,
      size: 4190963,
      preview: `https://customer-f33zs165nr7gyfy4.cloudflarestream.com/${uid}/watch`,
      allowedOrigins: [],
      requireSignedURLs: false,
      uploaded: '2019-01-01T01:00:00.474936Z',
      duration: 5.5,
      input: { width: 1920, height: 1080 },
      playback: {
        hls: `https://customer-f33zs165nr7gyfy4.cloudflarestream.com/${uid}/manifest/video.m3u8`,
        dash: `https://customer-f33zs165nr7gyfy4.cloudflarestream.com/${uid}/manifest/video.mpd`,
      },
      watermark: null,
    };
  },
  /** Cloudflare Stream: processing failed. Its docs' error example spells the reason `errReason*`. */
  videoError(uid: string, modified: string, spelling: 'err' | 'error' = 'err') {
    const reason = spelling === 'err'
      ? { errReasonCode: 'ERR_NON_VIDEO', errReasonText: 'The file was not recognized as a valid video file.' }
      : { errorReasonCode: 'ERR_NON_VIDEO', errorReasonText: 'The file was not recognized as a valid video file.' };
    return {
      uid,
      readyToStream: false,
      status: { state: 'error', pctComplete: '', ...reason },
      meta: {},
      created: '2019-01-01T01:00:00.474936Z',
      modified,
    };
  },
} as const;

/** Headers a sender attaches, per scheme; each scheme's value is the header the receiver reads. */
export const signedHeaders = {
  notification: (secret: string) => ({ 'content-type': 'application/json', [Scheme.NotificationSecret]: secret }),
  toolkit: (secret: string, body: string) => ({ 'content-type': 'application/json', [Scheme.ToolkitSignature]: sign.toolkit(secret, body) }),
  stream: (secret: string, body: string, timeSeconds = Math.floor(Date.now() / 1000)) => ({
    'content-type': 'application/json',
    [Scheme.StreamSignature]: sign.stream(secret, body, timeSeconds),
  }),
} as const;

/**
 * Cloudflare Stream as the stand-in plays it: direct creator uploads, video records, the
 * creator's file processed to ready (or ERR_NON_VIDEO), and the one signed Stream webhook.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { sniffMedia } from './cloudflare-files.js';
import {
  bad,
  booleanValue,
  fault,
  fileField,
  found,
  headerValue,
  jsonBody,
  objectField,
  optionalString,
  stringList,
  type Call,
  type Handled,
  type Route,
  type StandInCore,
  type UploadAnswer,
} from './cloudflare-http.js';
import { Permission, type StandInVideo, type StreamWebhook, type WebhookDelivery } from './cloudflare-types.js';

/**
 * products/stream/src/content/uploading-videos/direct-creator-uploads.md (the earlier revision of
 * src/content/docs/stream/uploading-videos/direct-creator-uploads.mdx): "greater than 1 and less
 * than 21,600"; the SDK adds -1 for "unknown".
 */
const MAX_DURATION_SECONDS = 21_600;
/** src/content/docs/stream/uploading-videos/direct-creator-uploads.mdx: basic POST uploads are "limited to 200 MB". */
export const MAX_VIDEO_BYTES = 200 * 1024 * 1024;
/** A stand-in decodes nothing, so every ready video reports the length and size of the docs' example. */
const SAMPLE_VIDEO = { duration: 5.5, width: 560, height: 320 } as const;

/**
 * Cloudflare Stream's signature (src/content/docs/stream/manage-video-library/using-webhooks.mdx,
 * "Verify webhook authenticity"): hex HMAC-SHA256, keyed with the webhook secret, of the unix
 * time, a `.`, and the body byte for byte. Written apart from the receiver's verifier on purpose.
 */
export function signStreamWebhook(secret: string, body: string | Buffer, timeSeconds: number): string {
  const sig1 = createHmac('sha256', secret).update(`${timeSeconds}.`).update(body).digest('hex');
  return `time=${timeSeconds},sig1=${sig1}`;
}

export class StreamApi {
  constructor(private readonly core: StandInCore) {}

  routes(): Route[] {
    return [
      // Before /stream/{identifier}, which the same path would also match.
      { method: 'GET', path: /^\/stream\/webhook$/, needs: Permission.StreamRead, handle: () => ({ result: streamWebhookView(this.streamWebhookOr404()) }) },
      { method: 'PUT', path: /^\/stream\/webhook$/, needs: Permission.StreamWrite, handle: (c) => this.putStreamWebhook(c) },
      { method: 'DELETE', path: /^\/stream\/webhook$/, needs: Permission.StreamWrite, handle: () => this.deleteStreamWebhook() },
      { method: 'POST', path: /^\/stream\/direct_upload$/, needs: Permission.StreamWrite, handle: (c) => this.createVideoUpload(c) },
      { method: 'GET', path: /^\/stream\/([^/]+)$/, needs: Permission.StreamRead, handle: (c) => ({ result: this.videoView(this.videoOr404(c.params[0]!)) }) },
    ];
  }

  /**
   * src/content/docs/stream/uploading-videos/direct-creator-uploads.mdx ("Basic POST request"):
   * JSON `{maxDurationSeconds, expiry?, creator?, meta?, requireSignedURLs?, allowedOrigins?}`
   * (creator also as the `Upload-Creator` header, per the SDK) → `result {uid, uploadURL}`; the
   * video then exists in state `pendingupload` until its file arrives.
   */
  private createVideoUpload({ req, raw }: Call): Handled {
    const body = jsonBody(raw);
    const created = this.core.now().toISOString();
    const uid = randomBytes(16).toString('hex');
    const uploadURL = `${this.core.url}/stream-upload/${uid}`;
    const creator = optionalString(body.creator, 'creator') ?? headerValue(req, 'upload-creator') ?? null;
    this.core.videos.set(uid, {
      uid,
      creator,
      meta: body.meta === undefined ? {} : objectField(body.meta, 'meta'),
      requireSignedURLs: body.requireSignedURLs === undefined ? false : booleanValue(body.requireSignedURLs, 'requireSignedURLs'),
      allowedOrigins: body.allowedOrigins === undefined ? [] : stringList(body.allowedOrigins, 'allowedOrigins'),
      maxDurationSeconds: maxDuration(body.maxDurationSeconds),
      uploadExpiry: this.core.expiryFrom(optionalString(body.expiry, 'expiry')),
      uploadURL,
      created,
      modified: created,
      uploaded: null,
      state: 'pendingupload',
      pctComplete: '0',
      size: 0,
      readyToStreamAt: null,
    });
    return { result: { uid, uploadURL }, recorded: body };
  }

  private videoOr404(uid: string): StandInVideo {
    return found(this.core.videos, uid, 10003, 'Video not found');
  }

  /**
   * The video object, as GET /stream/{identifier} answers it and the Stream webhook carries it:
   * src/content/docs/stream/manage-video-library/using-webhooks.mdx (example body; an empty
   * `errorReasonCode`/`errorReasonText` on success; `maxSizeBytes` and `watermark` null) and the
   * SDK's `Video` (`thumbnail` and `preview` "omitted until encoding is complete", -1 while
   * `duration` and `input` are unknown). Its error example spells the reason fields
   * `errReasonCode`/`errReasonText`; the stand-in uses the SDK's spelling.
   */
  private videoView(video: StandInVideo) {
    const ready = video.state === 'ready';
    const media = `https://${this.core.streamHost}/${video.uid}`;
    return {
      uid: video.uid,
      creator: video.creator,
      ...(ready && { thumbnail: `${media}/thumbnails/thumbnail.jpg` }),
      thumbnailTimestampPct: 0,
      readyToStream: ready,
      readyToStreamAt: video.readyToStreamAt,
      status: {
        state: video.state,
        ...(video.step && { step: video.step }),
        pctComplete: video.pctComplete,
        errorReasonCode: video.error?.code ?? '',
        errorReasonText: video.error?.text ?? '',
      },
      meta: video.meta,
      created: video.created,
      modified: video.modified,
      scheduledDeletion: null,
      size: video.size,
      ...(ready && { preview: `${media}/watch` }),
      allowedOrigins: video.allowedOrigins,
      requireSignedURLs: video.requireSignedURLs,
      uploaded: video.uploaded,
      uploadExpiry: video.uploadExpiry,
      maxSizeBytes: null,
      maxDurationSeconds: video.maxDurationSeconds,
      duration: ready ? SAMPLE_VIDEO.duration : -1,
      input: ready ? { width: SAMPLE_VIDEO.width, height: SAMPLE_VIDEO.height } : { width: -1, height: -1 },
      ...(ready && { playback: { hls: `${media}/manifest/video.m3u8`, dash: `${media}/manifest/video.mpd` } }),
      watermark: null,
    };
  }

  /** The creator's POST to a Stream upload URL; its page documents a bare 200, so the answer has no body. */
  async receiveVideo(req: IncomingMessage, raw: Buffer, uid: string): Promise<UploadAnswer> {
    const video = this.videoOr404(uid);
    if (video.state !== 'pendingupload') throw fault(409, 10009, 'This upload URL was already used');
    if (this.core.now().getTime() > Date.parse(video.uploadExpiry)) throw bad(10010, 'The upload window has expired');
    const file = await fileField(req, raw);
    if (file.bytes.length > MAX_VIDEO_BYTES) throw fault(413, 10011, 'A basic POST upload is limited to 200 MB');
    const at = this.core.now().toISOString();
    // using-webhooks.mdx's example keeps the uploaded file's name in `meta.name`.
    Object.assign(video, { state: 'queued', uploaded: at, modified: at, size: file.bytes.length, meta: { name: file.name, ...video.meta } });
    return { status: 200, afterwards: () => this.processVideo(video, file.bytes) };
  }

  /** queued → inprogress → ready, or error for a file whose bytes are not an MP4, MOV or WebM; then the webhook. */
  private async processVideo(video: StandInVideo, bytes: Buffer): Promise<WebhookDelivery[]> {
    if (!(await this.core.sleep(this.core.processingDelayMs / 2))) return [];
    this.advance(video, { state: 'inprogress', step: 'encoding', pctComplete: '50.000000' });
    if (!(await this.core.sleep(this.core.processingDelayMs / 2))) return [];
    if (sniffMedia(bytes)?.kind === 'video') {
      this.advance(video, { state: 'ready', step: undefined, pctComplete: '100.000000', readyToStreamAt: this.core.now().toISOString() });
    } else {
      // using-webhooks.mdx, "Error codes": ERR_NON_VIDEO, "The upload is not a video."
      this.advance(video, { state: 'error', error: { code: 'ERR_NON_VIDEO', text: 'The upload is not a video.' } });
    }
    return this.notifyStream(video);
  }

  private advance(video: StandInVideo, change: Partial<StandInVideo>): void {
    Object.assign(video, change, { modified: this.core.now().toISOString() });
  }

  /** using-webhooks.mdx: once processing ends, POST the whole video object to the one Stream webhook, signed. */
  private async notifyStream(video: StandInVideo): Promise<WebhookDelivery[]> {
    const hook = this.core.streamWebhook;
    if (!hook) return [];
    const body = JSON.stringify(this.videoView(video));
    const time = Math.floor(this.core.now().getTime() / 1000);
    const headers = { 'content-type': 'application/json', 'webhook-signature': signStreamWebhook(hook.secret, body, time) };
    return [await this.core.deliver({ kind: 'stream', subject: video.uid, url: hook.notificationUrl, body }, headers)];
  }

  /** src/content/docs/stream/manage-video-library/using-webhooks.mdx: `{notificationUrl, modified, secret}`. */
  private putStreamWebhook({ raw }: Call): Handled {
    const body = jsonBody(raw);
    const target = body.notificationUrl ?? body.notification_url;
    if (typeof target !== 'string' || !URL.canParse(target)) throw bad(10005, 'notificationUrl must be a valid URL');
    const current = this.core.streamWebhook;
    // The seed's documented behaviour: changing the URL issues a new signing secret.
    const secret = current && current.notificationUrl === target ? current.secret : randomBytes(16).toString('hex');
    this.core.streamWebhook = { notificationUrl: target, secret, modified: this.core.now().toISOString() };
    return { result: streamWebhookView(this.core.streamWebhook), recorded: body };
  }

  private streamWebhookOr404(): StreamWebhook {
    if (!this.core.streamWebhook) throw fault(404, 10003, 'Not Found');
    return this.core.streamWebhook;
  }

  private deleteStreamWebhook(): Handled {
    this.core.streamWebhook = undefined;
    return { result: '' };
  }
}

const streamWebhookView = (hook: StreamWebhook) => ({
  modified: hook.modified,
  // The docs' example answers `notificationUrl`; the seed's recorded answer has `notification_url`.
  notification_url: hook.notificationUrl,
  notificationUrl: hook.notificationUrl,
  secret: hook.secret,
});

function maxDuration(value: unknown): number {
  const valid = Number.isInteger(value) && (value === -1 || ((value as number) >= 1 && (value as number) <= MAX_DURATION_SECONDS));
  if (!valid) throw bad(10005, `maxDurationSeconds is required: a whole number of seconds from 1 to ${MAX_DURATION_SECONDS}, or -1`);
  return value as number;
}

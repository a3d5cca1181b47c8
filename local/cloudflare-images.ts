/**
 * Cloudflare Images as the stand-in plays it: direct creator uploads, image records, the
 * creator's file arriving at its upload URL, and the `image_notification` webhooks that follow.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { sniffMedia } from './cloudflare-files.js';
import { bad, booleanField, envelope, errorEnvelope, fault, fileField, found, hexId, jsonObjectField, readForm, textFields, type Call, type Handled, type Route, type StandInCore, type UploadAnswer } from './cloudflare-http.js';
import { Permission, type NotificationPolicy, type StandInImage, type WebhookDelivery } from './cloudflare-types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** src/content/docs/images/upload-images/index.mdx: "Images have a 10 megabyte (MB) size limit". */
const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
/** The formats src/content/docs/images/upload-images/index.mdx lists (it says HEIC is not supported). */
const IMAGE_FORMATS = new Set(['png', 'jpeg', 'gif', 'webp', 'svg', 'avif']);
type ImageOutcome = { readonly uploaded: true } | { readonly uploaded: false; readonly code: number; readonly message: string };

export class ImagesApi {
  constructor(private readonly core: StandInCore) {}

  routes(): Route[] {
    return [
      { method: 'POST', path: /^\/images\/v2\/direct_upload$/, needs: Permission.ImagesWrite, handle: (c) => this.createImageUpload(c) },
      { method: 'GET', path: /^\/images\/v1\/(.+)$/, needs: Permission.ImagesRead, handle: (c) => ({ result: this.imageView(this.imageOr404(c.params[0]!)) }) },
    ];
  }

  /**
   * src/content/docs/images/upload-images/direct-creator-upload.mdx: a multipart form with
   * `requireSignedURLs`, `metadata` (JSON), `expiry`, `id` (custom, not with requireSignedURLs)
   * and `creator`; answers `{id, uploadURL}` and keeps a draft image record until the file arrives.
   */
  private async createImageUpload({ req, raw }: Call): Promise<Handled> {
    const fields = textFields(await readForm(req, raw));
    const requireSignedURLs = booleanField(fields.requireSignedURLs);
    const metadata = fields.metadata === undefined ? {} : jsonObjectField(fields.metadata, 'metadata');
    const expiry = this.core.expiryFrom(fields.expiry);
    const id = fields.id === undefined ? randomUUID() : this.customImageId(fields.id, requireSignedURLs);
    const uploadURL = `${this.core.url}/upload/${this.core.accountHash}/${encodeURIComponent(id)}`;
    const variants = ['public', 'thumbnail'].map((variant) => `https://imagedelivery.net/${this.core.accountHash}/${id}/${variant}`);
    this.core.images.set(id, {
      id,
      draft: true,
      requireSignedURLs,
      metadata,
      ...(fields.creator !== undefined && { creator: fields.creator }),
      expiry,
      uploadURL,
      uploaded: this.core.now().toISOString(),
      variants,
    });
    return { result: { id, uploadURL }, recorded: fields };
  }

  private customImageId(id: string, requireSignedURLs: boolean): string {
    if (requireSignedURLs) throw bad(5400, 'Bad request: a custom id cannot be used with requireSignedURLs');
    // src/content/docs/images/upload-images/upload-custom-path.mdx: up to 1024 characters, no leading or trailing slash, not a UUID.
    if (id.length === 0 || id.length > 1024 || id.startsWith('/') || id.endsWith('/') || UUID.test(id)) throw bad(5400, 'Bad request: invalid custom id');
    if (this.core.images.has(id)) throw fault(409, 5409, 'Resource already exists');
    return id;
  }

  private imageOr404(id: string): StandInImage {
    return found(this.core.images, id, 5404, 'Image not found');
  }

  /**
   * GET /images/v1/{image_id}, src/content/docs/images/upload-images/direct-creator-upload.mdx
   * ("Check the image record status"): `draft: true` until a creator uploads, removed after;
   * Cloudflare's draft example already carries `uploaded` and `variants`, so a reader must key
   * on `draft`. That example spells the metadata `metadata`; the API reference's image object
   * (and the SDK's `Image`: id, filename, creator, meta, requireSignedURLs, uploaded, variants)
   * calls it `meta`, which is what the stand-in answers.
   */
  private imageView(image: StandInImage) {
    return {
      id: image.id,
      ...(image.filename !== undefined && { filename: image.filename }),
      creator: image.creator ?? null,
      meta: image.metadata,
      requireSignedURLs: image.requireSignedURLs,
      uploaded: image.uploaded,
      variants: image.variants,
      ...(image.draft && { draft: true as const }),
    };
  }

  /** The creator's POST to the upload URL (the HTML form on the direct-creator-upload page sends field `file`). */
  async receiveImage(req: IncomingMessage, raw: Buffer, id: string): Promise<UploadAnswer> {
    const image = this.imageOr404(id);
    if (!image.draft) throw fault(409, 5409, 'This upload URL was already used');
    if (this.core.now().getTime() > Date.parse(image.expiry)) throw bad(5400, 'The upload window has expired');
    const file = await fileField(req, raw);
    const refusal = imageRefusal(file.bytes);
    if (refusal) {
      // The image stays a draft; Cloudflare notifies that the upload failed.
      const outcome = { uploaded: false, ...refusal } as const;
      return { status: refusal.status, body: errorEnvelope([refusal]), afterwards: () => this.notifyImage(image, outcome) };
    }
    image.draft = false;
    image.uploaded = this.core.now().toISOString();
    image.filename = file.name;
    return { status: 200, body: envelope(this.imageView(image)), afterwards: () => this.notifyImage(image, { uploaded: true }) };
  }

  /** Every enabled `image_notification` policy, to each of its webhook destinations, secret in `cf-webhook-auth`. */
  private async notifyImage(image: StandInImage, outcome: ImageOutcome): Promise<WebhookDelivery[]> {
    const sent: WebhookDelivery[] = [];
    for (const policy of this.core.policies.values()) {
      if (!policy.enabled || policy.alert_type !== 'image_notification') continue;
      for (const { id } of policy.mechanisms.webhooks ?? []) {
        const destination = this.core.destinations.get(id);
        if (!destination) continue;
        const body = JSON.stringify(this.imageNotification(policy, image, outcome));
        const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Cloudflare-Notifications' };
        if (destination.secret !== undefined) headers['cf-webhook-auth'] = destination.secret;
        const delivery = await this.core.deliver({ kind: 'notification', subject: image.id, url: destination.url, body }, headers);
        if (!delivery.dropped) destination[delivery.status! >= 200 && delivery.status! < 300 ? 'last_success' : 'last_failure'] = delivery.at;
        sent.push(delivery);
      }
    }
    return sent;
  }

  /**
   * The envelope: src/content/docs/notifications/reference/webhook-payload-schema.mdx. What
   * `data` holds for `image_notification` is documented nowhere
   * (src/content/docs/images/manage-images/configure-webhooks.mdx only says a POST is sent when an
   * image "either successfully uploads or fails to upload"): the fields below are the stand-in's
   * own choice, plain fields (`id`, `status`, `error {code, message}`) so nothing depends on prose.
   */
  private imageNotification(policy: NotificationPolicy, image: StandInImage, outcome: ImageOutcome) {
    const data = outcome.uploaded
      ? { id: image.id, status: 'uploaded', uploaded: image.uploaded, variants: image.variants, metadata: image.metadata, requireSignedURLs: image.requireSignedURLs }
      : { id: image.id, status: 'failed', error: { code: outcome.code, message: outcome.message } };
    return {
      name: policy.name,
      text: outcome.uploaded ? `Image ${image.id} was uploaded` : `Image ${image.id} failed to upload: ${outcome.message}`,
      data,
      ts: Math.floor(this.core.now().getTime() / 1000),
      account_id: this.core.accountId,
      policy_id: policy.id,
      policy_name: policy.name,
      alert_type: 'image_notification',
      alert_correlation_id: hexId(),
      alert_event: 'ALERT_STATE_EVENT_START',
    };
  }
}

/** Why Cloudflare Images would refuse these bytes, if it would. */
function imageRefusal(bytes: Buffer): { status: number; code: number; message: string } | undefined {
  if (bytes.length === 0) return { status: 400, code: 5400, message: 'The uploaded file is empty' };
  if (bytes.length > MAX_IMAGE_BYTES) return { status: 413, code: 5413, message: 'Images have a 10 MB size limit' };
  const format = sniffMedia(bytes);
  if (format?.kind !== 'image' || !IMAGE_FORMATS.has(format.format)) {
    return { status: 415, code: 5415, message: 'The file is not a supported image (PNG, GIF, JPEG, WebP, SVG or AVIF)' };
  }
  return undefined;
}

/**
 * What the local stand-in of Cloudflare (local/cloudflare.ts) makes of an uploaded file: its
 * first bytes decide what it is, and nothing is decoded further. Real Cloudflare decodes the
 * file; a stand-in that trusts signatures is enough to drive an upload to success or failure.
 */
import { crc32, deflateSync } from 'node:zlib';

export type MediaKind = 'image' | 'video';
export interface Sniffed {
  readonly kind: MediaKind;
  readonly format: string;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const EBML_MAGIC = Buffer.from([0x1a, 0x45, 0xdf, 0xa3]);
/** ISO-BMFF brands of still images; every other `ftyp` brand is taken for a video (MP4, MOV, 3GP). */
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'mif1', 'msf1']);
/** Top-level atoms an old QuickTime file may open with instead of `ftyp`. */
const QUICKTIME_ATOMS = ['moov', 'mdat', 'wide', 'free', 'skip', 'pnot'];
const SVG_START = /^\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*(?:<!DOCTYPE[^>]*>\s*)?<svg[\s>]/i;

const text = (bytes: Buffer, offset: number, expected: string) => bytes.subarray(offset, offset + expected.length).toString('latin1') === expected;
const brand = (bytes: Buffer) => (text(bytes, 4, 'ftyp') ? bytes.subarray(8, 12).toString('latin1') : undefined);

const SIGNATURES: readonly { readonly kind: MediaKind; readonly format: string; readonly test: (bytes: Buffer) => boolean }[] = [
  { kind: 'image', format: 'png', test: (b) => b.subarray(0, 8).equals(PNG_SIGNATURE) },
  { kind: 'image', format: 'jpeg', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { kind: 'image', format: 'gif', test: (b) => text(b, 0, 'GIF87a') || text(b, 0, 'GIF89a') },
  { kind: 'image', format: 'webp', test: (b) => text(b, 0, 'RIFF') && text(b, 8, 'WEBP') },
  { kind: 'image', format: 'avif', test: (b) => AVIF_BRANDS.has(brand(b) ?? '') },
  { kind: 'image', format: 'heic', test: (b) => HEIF_BRANDS.has(brand(b) ?? '') },
  { kind: 'image', format: 'svg', test: (b) => SVG_START.test(b.subarray(0, 4096).toString('utf8').replace(/^\uFEFF/, '')) },
  { kind: 'video', format: 'mp4', test: (b) => brand(b) !== undefined },
  { kind: 'video', format: 'mov', test: (b) => QUICKTIME_ATOMS.some((atom) => text(b, 4, atom)) },
  { kind: 'video', format: 'webm', test: (b) => b.subarray(0, 4).equals(EBML_MAGIC) },
];

export function sniffMedia(bytes: Buffer): Sniffed | undefined {
  const match = SIGNATURES.find((signature) => signature.test(bytes));
  return match && { kind: match.kind, format: match.format };
}

/** A 1×1 RGBA PNG, built rather than pasted so its bytes are plainly a valid image. */
function onePixelPng(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0); // width
  header.writeUInt32BE(1, 4); // height
  header[8] = 8; // bits per channel
  header[9] = 6; // RGBA
  const row = Buffer.from([0, 0xf4, 0x80, 0x20, 0xff]); // filter byte, then one orange pixel
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(row)), chunk('IEND', Buffer.alloc(0))]);
}

/** An `ftyp` box (brand `isom`) and an empty `mdat`: what an MP4 file opens with, and all the stand-in reads. */
function mp4Start(): Buffer {
  const ftyp = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom', 'latin1'), Buffer.from([0, 0, 2, 0]), Buffer.from('isomiso2', 'latin1')]);
  return Buffer.concat([ftyp, Buffer.from([0, 0, 0, 8]), Buffer.from('mdat', 'latin1')]);
}

/** Files a test or a person can upload when the content does not matter, only what it is. */
export const sampleFiles = {
  png: { name: 'pixel.png', type: 'image/png', bytes: onePixelPng() },
  mp4: { name: 'clip.mp4', type: 'video/mp4', bytes: mp4Start() },
} as const;

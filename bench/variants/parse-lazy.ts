/**
 * Attribution variant: lambda/parse.ts (zod, its English locale and every schema) evaluated on
 * the first delivery instead of at module load. esbuild turns a `require` of a bundled ES module
 * into a lazy, synchronous initialiser, so parseDelivery keeps its signature. Prices "what runs
 * at module load versus first use" for the validation layer: the import gets cheaper by what the
 * first delivery then pays.
 */
import type * as Parse from '../../lambda/webhook/parse';

declare const require: (id: string) => unknown;
let parse: typeof Parse | undefined;

export function parseDelivery(...args: Parameters<typeof Parse.parseDelivery>): ReturnType<typeof Parse.parseDelivery> {
  parse ??= require('../../lambda/webhook/parse') as typeof Parse;
  return parse.parseDelivery(...args);
}

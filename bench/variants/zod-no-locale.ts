/**
 * Attribution variant: `zod/v4/locales/en.js` replaced by no locale at all, to price the English
 * messages lambda/parse.ts configures (`z.config(en())`). Issues then read "Invalid input".
 */
export default function en(): Record<string, never> {
  return {};
}

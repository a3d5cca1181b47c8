import { Token } from 'aws-cdk-lib';

// Literal segments only: `{proxy+}` or `*` would widen what the function receives.
const ROUTE_PATH = /^\/[A-Za-z0-9._~\-/]*$/;

/** Throws unless `path` is a literal HTTP API route path (a token could not be checked, nor matched by the function). */
export function requireRoutePath(name: string, path: string): void {
  if (Token.isUnresolved(path) || !ROUTE_PATH.test(path) || path.includes('//')) {
    throw new Error(`${name} must be a literal path starting with '/' (letters, digits, - . _ ~ /), got '${path}'`);
  }
}

export function requireNumber(
  name: string,
  value: number,
  limits: { readonly min: number; readonly max?: number; readonly integer?: boolean },
): void {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= limits.min &&
    (limits.max === undefined || value <= limits.max) &&
    (!limits.integer || Number.isInteger(value));
  if (!ok) {
    const range = limits.max === undefined ? `>= ${limits.min}` : `between ${limits.min} and ${limits.max}`;
    throw new Error(`${name} must be ${limits.integer ? 'an integer' : 'a number'} ${range}, got ${value}`);
  }
}

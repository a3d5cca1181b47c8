/** Reading a function's environment once at cold start: a bad value fails fast and names its variable. */

export type Env = Readonly<Record<string, string | undefined>>;

export function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}

export function integer(env: Env, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`environment variable ${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

/** One of `allowed`, or `fallback` when unset. */
export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new Error(`environment variable ${name} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got "${raw}"`);
}

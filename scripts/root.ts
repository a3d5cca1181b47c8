import { fileURLToPath } from 'node:url';

/** The repository's root (with a trailing slash), for the scripts, the bench and the tests alike; imports nothing else. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

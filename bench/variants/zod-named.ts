/**
 * Attribution variant: lambda/parse.ts's `zod/mini` namespace served by `import { z } from 'zod'`,
 * the form most zod examples use. `z` is one object holding all of zod (locales included), so
 * keeping it reachable is what that import does to a bundle. The names are those parse.ts uses.
 */
import { z } from 'zod';

export const { array, boolean, config, iso, looseObject, maxLength, minLength, nullable, number, optional, record, safeParse, string, union, unknown } = z;

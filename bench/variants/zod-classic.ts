/**
 * Attribution variant: lambda/parse.ts's `import * as z from 'zod/mini'` served by classic zod
 * through a namespace import (`import * as z from 'zod'`): what the zod/mini choice saved.
 */
export * from 'zod';

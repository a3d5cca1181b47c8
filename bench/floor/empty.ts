/** Baseline: what importing a module costs before it contains anything. */
export const handler = async (): Promise<void> => {};

/** A failure the user can act on: printed as one line, without a stack trace. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    /** 2 for a wrong invocation, 1 for everything else. */
    readonly exitCode: 1 | 2 = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super(message, 2);
  }
}

/** A failed AWS call, as one line: `could not <action>: <error name>: <message>`. */
export function failure(action: string, error: unknown): CliError {
  const { name, message } = error as Error;
  return new CliError(`could not ${action}: ${name}: ${message}`, 1, { cause: error });
}

/** Runs one AWS call; a failure becomes {@link failure}'s line. */
export async function step<T>(action: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw failure(action, error);
  }
}

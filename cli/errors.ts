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

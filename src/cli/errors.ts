/** An error the CLI reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  /**
   * @param message What went wrong and what to do about it.
   * @param exitCode 1: the operation failed; 2: bad usage or not supported.
   */
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

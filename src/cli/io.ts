/** Where a command writes. Passed in, so commands are testable without a terminal. */
export interface CliIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

export const processIO: CliIO = { stdout: process.stdout, stderr: process.stderr };

/** Options every command accepts. */
export interface GlobalArgs {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
}

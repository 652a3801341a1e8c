/**
 * Every failure a user can cause or see carries an exit code and a one-line message that
 * names the file, tensor, node or pass at fault. Library code throws these; only `bin/`
 * turns them into an exit status.
 */

/** 1: a budget or a check failed. 2: bad usage or bad input. */
export type ExitCode = 1 | 2;

export class ShrinkrayError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = 2, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShrinkrayError';
    this.exitCode = exitCode;
  }
}

/** Bad input: a malformed model, a data set that does not fit, an unsafe path. Exit 2. */
export class InputError extends ShrinkrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 2, options);
    this.name = 'InputError';
  }
}

/** An input with a free dim nobody sized: a step that only measures can skip itself with this note. */
export class ShapeUnknownError extends InputError {}

/** A budget (accuracy drop, size, speed-up) or a verification failed. Exit 1. */
export class CheckError extends ShrinkrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 1, options);
    this.name = 'CheckError';
  }
}

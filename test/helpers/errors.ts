import { expect } from 'vitest';
import { InputError } from '../../src/errors.ts';

/** Test helper: the error a promise rejects with (fails the test if it resolves). */
export async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** The InputError a promise rejects with; fails the test on any other outcome or a multi-line message. */
export async function inputErrorOf(p: Promise<unknown>): Promise<InputError> {
  const err = await errorOf(p);
  expect(err).toBeInstanceOf(InputError);
  expect(err.message).not.toContain('\n');
  return err as InputError;
}

/**
 * Property: whatever structural and byte mutations a model goes through, loading and
 * validating it either succeeds or throws an InputError with one line — never another error.
 * fast-check draws the mutation lists and, on a failure, shrinks them to the fewest and
 * smallest mutations that still fail (the campaign runner, npm run fuzz, minimises its own
 * finds the same way). In-process and without onnxruntime, so hundreds of cases take seconds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { loadModel } from '../../src/io/load.ts';
import { validateModel } from '../../src/io/validate.ts';
import { summarizeModel } from '../../src/inspect/summary.ts';
import { seedModels } from './execute.ts';
import { BYTE_KINDS, TREE_KINDS, applyAll } from './mutators.ts';

const seeds = seedModels({ small: true });
const mutation = fc.record({ kind: fc.constantFrom(...TREE_KINDS, ...BYTE_KINDS), seed: fc.nat() });

describe('fuzz properties', () => {
  it('fuzz: mutated models load, summarize and validate, or fail with a one-line InputError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), async (which, mutations) => {
        const bytes = applyAll(seeds[which]!.bytes, mutations);
        try {
          const model = await loadModel(bytes, { label: 'fuzzed.onnx' });
          summarizeModel(model);
          validateModel(model);
        } catch (err) {
          expect(err, (err as Error).stack).toBeInstanceOf(InputError);
          expect((err as Error).message).not.toMatch(/[\n\r]/);
        }
      }),
      { numRuns: 400, seed: 14 },
    );
  });
});

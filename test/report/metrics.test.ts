import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import {
  AccuracyMeter, AgreementMeter, agreement, agreementToJson, argmax, SQNR_CAP_DB, sqnrDb, top1Accuracy,
} from '../../src/report/metrics.ts';

describe('report/metrics', () => {
  it('metrics: top-1 accuracy counts argmax hits', () => {
    // argmax per row: 2, 0, 1, 1 — labels hit rows 0, 1 and 3.
    const logits = [0.1, 0.2, 0.7, 5, -1, 2, 0, 3, 1, -4, -3, -3.5];
    expect(top1Accuracy(logits, [2, 0, 0, 1])).toBe(0.75);
    expect(top1Accuracy(logits, [2n, 0n, 1n, 1n])).toBe(1);
  });

  it('metrics: accuracy streams batch by batch like one batch', () => {
    const m = new AccuracyMeter();
    m.add([1, 0, 0, 1], [0, 0]);
    m.add([0, 1], [1]);
    expect(m.result()).toEqual({ top1: 2 / 3, samples: 3 });
    expect(new AccuracyMeter().result().top1).toBeNaN();
  });

  it('metrics: argmax takes the first of ties and gives -1 for NaN', () => {
    expect(argmax([3, 7, 7, 1], 0, 4)).toBe(1);
    expect(argmax([9, 3, 7, 7], 1, 3)).toBe(1);
    expect(argmax([-Infinity, -Infinity], 0, 2)).toBe(0);
    expect(argmax([1, NaN, 0], 0, 3)).toBe(-1);
    expect(top1Accuracy([NaN, 0, 0], [0])).toBe(0);
  });

  it('metrics: a label outside the classes is an InputError naming the sample', () => {
    const m = new AccuracyMeter();
    m.add([1, 0], [0]);
    expect(() => m.add([1, 0, 0, 1], [0, 2])).toThrow(InputError);
    expect(() => m.add([1, 0, 0, 1], [0, 2])).toThrow('label 2 of sample 2 is outside 0..1 (the output has 2 classes)');
    expect(() => top1Accuracy([1, 0, 0], [0, 1])).toThrow('3 output values do not split into 2 samples');
  });

  it('metrics: agreement of a small pair matches a hand computation', () => {
    const b = [1, 2, 3, 4];
    const c = [1, 2.5, 3, 3];
    const a = agreement(b, c, 2);
    expect(a.samples).toBe(2);
    expect(a.top1Match).toBe(0.5); // row 2: baseline says class 1, candidate ties and says 0
    expect(a.maxAbsError).toBe(1);
    expect(a.meanAbsError).toBe(1.5 / 4);
    // signal 1+4+9+16 = 30, noise 0.25+1 = 1.25
    expect(a.sqnrDb).toBeCloseTo(10 * Math.log10(24), 12);
    const cos1 = (1 + 5) / Math.sqrt(5 * 7.25);
    const cos2 = (9 + 12) / Math.sqrt(25 * 18);
    expect(a.cosine).toBeCloseTo((cos1 + cos2) / 2, 12);
  });

  it('metrics: sqnr of identical outputs is infinite, capped in JSON', () => {
    const a = agreement([0.5, -1, 2, 0], [0.5, -1, 2, 0], 2);
    expect(a.sqnrDb).toBe(Infinity);
    expect(a).toMatchObject({ top1Match: 1, maxAbsError: 0, meanAbsError: 0, cosine: 1 });
    const json = agreementToJson(a);
    expect(json.sqnrDb).toBe(SQNR_CAP_DB);
    expect(JSON.parse(JSON.stringify(json)).sqnrDb).toBe(999);
    expect(agreementToJson({ ...a, sqnrDb: -Infinity }).sqnrDb).toBe(-999);
    expect(agreementToJson({ ...a, sqnrDb: 42.5 }).sqnrDb).toBe(42.5);
    expect(sqnrDb(0, 1)).toBe(-Infinity);
    expect(sqnrDb(100, 1)).toBe(20);
  });

  it('metrics: agreement streams batch by batch like one batch', () => {
    const b = [0.3, -0.2, 1.5, 0.9, -2, 0.4];
    const c = [0.25, -0.1, 1.4, 1.1, -1.8, 0.1];
    const whole = agreement(b, c, 3);
    const m = new AgreementMeter();
    m.add(b.slice(0, 2), c.slice(0, 2), 1);
    m.add(b.slice(2), c.slice(2), 2);
    const streamed = m.result();
    for (const k of Object.keys(whole) as (keyof typeof whole)[]) expect(streamed[k]).toBeCloseTo(whole[k], 12);
  });

  it('metrics: cosine of zero rows and NaN errors are not hidden', () => {
    expect(agreement([0, 0], [0, 0], 1).cosine).toBe(1);
    expect(agreement([0, 0], [1, 0], 1).cosine).toBe(0);
    const a = agreement([1, 2, 3, 4], [1, NaN, 3, 5], 2);
    expect(a.maxAbsError).toBeNaN();
    expect(a.meanAbsError).toBeNaN();
    expect(a.top1Match).toBe(0.5);
    expect(() => agreement([1, 2], [1], 1)).toThrow('baseline has 2 output values, candidate 1');
  });
});

/**
 * The teacher runs in onnxruntime, batch by batch: its logits (and, for hint losses, chosen
 * intermediate values exposed as extra outputs). One intra-op thread keeps its sums in a
 * fixed order, so a rerun sees the same teacher outputs (and the student step has the other core).
 */
import type { Model } from '../ir/model.ts';
import { modelBytesWithOutputs } from '../runtime/capture.ts';
import { runBatches, type Batch } from '../runtime/batches.ts';
import { createSession } from '../runtime/ort.ts';
import type { GraphSession } from '../runtime/types.ts';
import { InputError } from '../errors.ts';

export interface TeacherOutputs {
  logits: Float32Array;
  /** Extra values by name, row-major, batch first. */
  features: Record<string, { data: Float32Array; dims: number[] }>;
}

export class Teacher {
  private constructor(
    private readonly session: GraphSession,
    readonly model: Model,
    private readonly output: string,
    private readonly extra: readonly string[],
  ) {}

  /** Opens the teacher (already parsed), exposing `extra` values as outputs. */
  static async open(model: Model, extra: readonly string[] = [], label = 'teacher'): Promise<Teacher> {
    const session = await createSession(extra.length > 0 ? modelBytesWithOutputs(model, extra) : model, { threads: 1, label });
    return new Teacher(session, model, model.graph.outputs[0]!.name, extra);
  }

  /** The teacher on one batch, its inputs fed as every run of a data set is (runtime/batches.ts). */
  async run(batch: Batch): Promise<TeacherOutputs> {
    const fetch = [this.output, ...this.extra];
    for await (const { values } of runBatches(this.session, [batch], fetch)) {
      const missing = fetch.find((name) => !values.has(name));
      if (missing) throw new InputError(`${this.session.label}: value '${missing}' is not laid out by sample`);
      const features: TeacherOutputs['features'] = {};
      for (const name of this.extra) features[name] = values.get(name)!;
      return { logits: values.get(this.output)!.data, features };
    }
    throw new Error('teacher: an empty batch');
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

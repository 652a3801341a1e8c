/**
 * The teacher runs in onnxruntime, batch by batch: its logits (and, for hint losses, chosen
 * intermediate values exposed as extra outputs). One intra-op thread keeps its sums in a
 * fixed order, so a rerun sees the same teacher outputs (and the student step has the other core).
 */
import type { Model } from '../ir/model.ts';
import { modelBytesWithOutputs } from '../runtime/capture.ts';
import { asFloat32 } from '../runtime/batches.ts';
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
    private readonly input: string,
    private readonly output: string,
    private readonly extra: readonly string[],
  ) {}

  /** Opens the teacher (already parsed), exposing `extra` values as outputs. */
  static async open(model: Model, extra: readonly string[] = [], label = 'teacher'): Promise<Teacher> {
    const inputs = model.graph.inputs.filter((i) => !model.graph.initializers.has(i.name));
    if (inputs.length !== 1) throw new InputError(`${label}: the teacher has ${inputs.length} inputs; distillation feeds exactly one`);
    const session = await createSession(extra.length > 0 ? modelBytesWithOutputs(model, extra) : model, { threads: 1, label });
    return new Teacher(session, model, inputs[0]!.name, model.graph.outputs[0]!.name, extra);
  }

  async run(x: Float32Array, dims: readonly number[]): Promise<TeacherOutputs> {
    const out = await this.session.run({ [this.input]: { dtype: 'float32', dims, data: x } }, [this.output, ...this.extra]);
    const features: TeacherOutputs['features'] = {};
    for (const name of this.extra) features[name] = { data: asFloat32(out[name]!), dims: [...out[name]!.dims] };
    return { logits: asFloat32(out[this.output]!), features };
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

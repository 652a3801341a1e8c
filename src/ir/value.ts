/** Graph inputs, outputs and value_info entries: a name and, for tensors, dtype and shape. */
import type { ProtoMessage } from '../onnx/codec.ts';
import type { DType } from '../onnx/dtype.ts';

/** A dimension: a size, a symbolic name such as 'N', or unknown. */
export type Dim = number | string | undefined;

export interface TensorType {
  dtype: DType | undefined;
  /** Undefined when the rank is unknown. */
  shape: Dim[] | undefined;
}

export class ValueInfo {
  /** The TypeProto as loaded, written back as-is unless `type` was changed. */
  private loadedType?: { snapshot: string; proto: ProtoMessage };

  constructor(
    public name: string,
    /** Undefined for non-tensor values (sequence, map, optional), whose TypeProto is kept whole. */
    public type: TensorType | undefined,
    public proto: ProtoMessage = {},
    loadedTypeProto?: ProtoMessage,
  ) {
    if (loadedTypeProto) this.loadedType = { snapshot: JSON.stringify(type ?? null), proto: loadedTypeProto };
  }

  clone(): ValueInfo {
    const type = this.type && { dtype: this.type.dtype, shape: this.type.shape && [...this.type.shape] };
    const copy = new ValueInfo(this.name, type, this.proto);
    copy.loadedType = this.loadedType;
    return copy;
  }

  /** The loaded TypeProto if the type is unchanged since load. */
  unchangedTypeProto(): ProtoMessage | undefined {
    if (this.loadedType && this.loadedType.snapshot === JSON.stringify(this.type ?? null)) return this.loadedType.proto;
    return undefined;
  }
}

export function formatShape(shape: Dim[] | undefined): string {
  return shape ? `[${shape.map((d) => d ?? '?').join(',')}]` : '[?]';
}

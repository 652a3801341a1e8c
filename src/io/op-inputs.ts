/**
 * What validation needs to know about the inputs of common ONNX ops (default domain), from
 * the ONNX operator specs: how many leading inputs are required (an empty name '' marks an
 * omitted optional input, so it is wrong in a required slot), and which ops compute on
 * numbers only (no string, no bool operands). Ops not listed are not checked here;
 * onnxruntime still checks them. Kept apart from the op table (src/ops) so validation runs
 * before, and independently of, anything that table drives.
 */

/** Required leading inputs; 'all' for variadic ops whose every input is required. */
const REQUIRED: Record<string, number | 'all'> = {};
const set = (n: number | 'all', ops: string) => ops.split(' ').forEach((op) => (REQUIRED[op] = n));

set(1, 'Relu LeakyRelu Sigmoid Tanh Softmax LogSoftmax Exp Log Sqrt Abs Neg Reciprocal Floor Ceil Round Erf Elu Selu Gelu HardSigmoid HardSwish Softplus Softsign Sign Not Identity Flatten Transpose Shape Size Cast IsNaN IsInf Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh MaxPool AveragePool GlobalAveragePool GlobalMaxPool LpPool LRN Dropout Clip Squeeze ArgMax ArgMin ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceSumSquare Split DepthToSpace SpaceToDepth InstanceNormalization NonZero Hardmax Mish Celu ThresholdedRelu Trilu QuantizeLinear DequantizeLinear DynamicQuantizeLinear');
set(2, 'Add Sub Mul Div Pow Mod MatMul Equal Greater Less GreaterOrEqual LessOrEqual And Or Xor BitShift PRelu Reshape Expand Tile Gather GatherElements GatherND Unsqueeze Conv ConvTranspose Gemm LayerNormalization MatMulInteger ConvInteger');
set(3, 'Where Range ScatterElements ScatterND Slice');
set(5, 'BatchNormalization');
set(8, 'QLinearMatMul');
set('all', 'Concat Sum Mean Max Min');

/**
 * Ops whose input count has been the same in every opset: fewer inputs than this is a broken
 * node whatever the model's opset (Reshape, Unsqueeze, Slice… changed arity, so are not here).
 */
const MIN_INPUTS: Record<string, number> = {};
'Add Sub Mul Div Pow Mod MatMul Equal Greater Less And Or Xor PRelu Gemm Conv ConvTranspose Gather GatherElements GatherND MatMulInteger ConvInteger'
  .split(' ')
  .forEach((op) => (MIN_INPUTS[op] = 2));
'Where Range ScatterElements ScatterND'.split(' ').forEach((op) => (MIN_INPUTS[op] = 3));
MIN_INPUTS.BatchNormalization = 5;

/** The most inputs these ops have ever taken (binary ops: exactly two). */
const MAX_INPUTS: Record<string, number> = {};
'Add Sub Mul Div Pow Mod MatMul Equal Greater Less And Or Xor PRelu'.split(' ').forEach((op) => (MAX_INPUTS[op] = 2));
'Gemm Conv'.split(' ').forEach((op) => (MAX_INPUTS[op] = 3));

/** How many inputs `op` takes in any opset, at least and at most; undefined when not known here. */
export function inputArity(opType: string, domain: string): { min?: number; max?: number } {
  return domain === '' || domain === 'ai.onnx' ? { min: MIN_INPUTS[opType], max: MAX_INPUTS[opType] } : {};
}

/** Ops whose operands are numbers: a string or bool tensor fed to them is a broken model. */
const NUMERIC = new Set(
  'Add Sub Mul Div Pow Mod MatMul Gemm Conv ConvTranspose BatchNormalization LayerNormalization InstanceNormalization Relu LeakyRelu PRelu Sigmoid Tanh Softmax LogSoftmax Exp Log Sqrt Abs Neg Reciprocal Floor Ceil Round Erf Elu Selu Gelu HardSigmoid HardSwish Softplus Softsign Clip MaxPool AveragePool GlobalAveragePool GlobalMaxPool ReduceMean ReduceSum ReduceProd ReduceL1 ReduceL2 Sum Mean Sin Cos Tan'.split(' '),
);

/**
 * Ops whose listed inputs share one type parameter T: int32 beside float32 is a broken node
 * (onnxruntime: "Type parameter (T) bound to different types"). Values are input positions.
 */
const SAME_TYPE: Record<string, number[] | 'all'> = {
  Add: 'all', Sub: 'all', Mul: 'all', Div: 'all', Mod: 'all', MatMul: 'all', PRelu: 'all',
  Equal: 'all', Greater: 'all', Less: 'all', GreaterOrEqual: 'all', LessOrEqual: 'all',
  Sum: 'all', Mean: 'all', Max: 'all', Min: 'all', Concat: 'all',
  Gemm: [0, 1, 2], Conv: [0, 1, 2], ConvTranspose: [0, 1, 2], Where: [1, 2],
};

/** Input positions of `op` that must all have the same element type. */
export function sameTypeInputs(opType: string, domain: string, count: number): number[] {
  const s = domain === '' || domain === 'ai.onnx' ? SAME_TYPE[opType] : undefined;
  if (!s) return [];
  return s === 'all' ? Array.from({ length: count }, (_, i) => i) : s.filter((i) => i < count);
}

/** Inputs that must hold int64 values (shapes, axes) when given as initializers. */
const INT64_SLOTS: Record<string, number[]> = {
  Reshape: [1],
  Expand: [1],
  Tile: [1],
  ConstantOfShape: [0],
};

/** How many leading inputs `op` requires, given `count` inputs; undefined when unknown. */
export function requiredInputs(opType: string, domain: string, count: number): number | undefined {
  if (domain !== '' && domain !== 'ai.onnx') return undefined;
  const n = REQUIRED[opType];
  return n === 'all' ? count : n;
}

export function computesOnNumbers(opType: string, domain: string): boolean {
  return (domain === '' || domain === 'ai.onnx') && NUMERIC.has(opType);
}

export function int64Slots(opType: string, domain: string): readonly number[] {
  return (domain === '' || domain === 'ai.onnx') ? (INT64_SLOTS[opType] ?? []) : [];
}

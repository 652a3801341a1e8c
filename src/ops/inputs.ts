/**
 * The op table's `inputs` column: what the ONNX operator specs say about each op's inputs
 * (default domain), merged into the table by registry.ts. Validation reads the arity and type
 * facts before anything runs; random inputs (src/check/input-roles.ts) read the roles.
 * An op without an entry is not checked here (onnxruntime still checks it).
 */
import type { InputFacts } from './types.ts';

const FACTS: Record<string, InputFacts> = {};

/** Adds `facts` to every op of the space-separated list. */
function add(ops: string, facts: InputFacts): void {
  for (const op of ops.split(' ')) FACTS[op] = { ...FACTS[op], ...facts };
}

// Required leading inputs ('all': variadic ops whose every input is required).
add('Relu LeakyRelu Sigmoid Tanh Softmax LogSoftmax Exp Log Sqrt Abs Neg Reciprocal Floor Ceil Round Erf Elu Selu Gelu HardSigmoid HardSwish Softplus Softsign Sign Not Identity Flatten Transpose Shape Size Cast IsNaN IsInf Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh MaxPool AveragePool GlobalAveragePool GlobalMaxPool LpPool LRN Dropout Clip Squeeze ArgMax ArgMin ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceSumSquare Split DepthToSpace SpaceToDepth InstanceNormalization NonZero Hardmax Mish Celu ThresholdedRelu Trilu QuantizeLinear DequantizeLinear DynamicQuantizeLinear', { required: 1 });
add('Add Sub Mul Div Pow Mod MatMul Equal Greater Less GreaterOrEqual LessOrEqual And Or Xor BitShift PRelu Reshape Expand Tile Gather GatherElements GatherND Unsqueeze Conv ConvTranspose Gemm LayerNormalization MatMulInteger ConvInteger', { required: 2 });
add('Where Range ScatterElements ScatterND Slice', { required: 3 });
add('BatchNormalization', { required: 5 });
add('QLinearMatMul', { required: 8 });
add('Concat Sum Mean Max Min', { required: 'all' });

// Input counts that have been the same in every opset (Reshape, Unsqueeze, Slice… changed arity, so are not here).
add('Add Sub Mul Div Pow Mod MatMul Equal Greater Less And Or Xor PRelu Gemm Conv ConvTranspose Gather GatherElements GatherND MatMulInteger ConvInteger', { min: 2 });
add('Where Range ScatterElements ScatterND', { min: 3 });
add('BatchNormalization', { min: 5 });
add('Add Sub Mul Div Pow Mod MatMul Equal Greater Less And Or Xor PRelu', { max: 2 });
add('Gemm Conv', { max: 3 });

// Operands are numbers: a string or bool tensor fed to them is a broken model.
add('Add Sub Mul Div Pow Mod MatMul Gemm Conv ConvTranspose BatchNormalization LayerNormalization InstanceNormalization Relu LeakyRelu PRelu Sigmoid Tanh Softmax LogSoftmax Exp Log Sqrt Abs Neg Reciprocal Floor Ceil Round Erf Elu Selu Gelu HardSigmoid HardSwish Softplus Softsign Clip MaxPool AveragePool GlobalAveragePool GlobalMaxPool ReduceMean ReduceSum ReduceProd ReduceL1 ReduceL2 Sum Mean Sin Cos Tan', { numeric: true });

// Inputs sharing one type parameter T (onnxruntime: "Type parameter (T) bound to different types").
add('Add Sub Mul Div Mod MatMul PRelu Equal Greater Less GreaterOrEqual LessOrEqual Sum Mean Max Min Concat', { sameType: 'all' });
add('Gemm Conv ConvTranspose', { sameType: [0, 1, 2] });
add('Where', { sameType: [1, 2] });

// Inputs that must hold int64 values (shapes) when given as constants.
add('Reshape Expand Tile', { int64: [1] });
add('ConstantOfShape', { int64: [0] });

// Divisors: integer division by 0 fails in onnxruntime.
add('Div Mod', { divisor: [1] });

// Inputs whose values decide shapes or axes: random values would make a different model.
add('Reshape Expand Tile Pad Unsqueeze Squeeze ReduceSum ReduceMean ReduceMax ReduceMin Upsample TopK OneHot Split CumSum', { structural: [1] });
add('ConstantOfShape', { structural: [0] });
add('Range', { structural: [0, 1, 2] });
add('Slice', { structural: [1, 2, 3, 4] });
add('Resize', { structural: [1, 2, 3] });
add('Loop', { structural: [0, 1] });
add('NonMaxSuppression', { structural: [2] });

// Index inputs, with the input and the axis attribute of the table they index into.
add('Gather GatherElements ScatterElements', { index: { slot: 1, table: 0, axisAttr: 'axis' } });
add('GatherND', { index: { slot: 1, table: 0 } });
add('OneHot', { index: { slot: 0, table: 1 } });

// Inputs an op multiplies: a NaN or ±Infinity weight there makes outputs NaN/Infinity (refused).
// Added, compared, selected or clipped values are not here: a Clip bound, an additive or Where
// mask, a Pad value may be ±Infinity.
add('Conv ConvTranspose PRelu LayerNormalization InstanceNormalization GroupNormalization', { multiplied: [1] });
add('Gemm MatMul Mul Div', { multiplied: [0, 1] });
add('BatchNormalization', { multiplied: [1, 4] });
add('Cast', { convertsValues: true });

export const INPUT_FACTS: Readonly<Record<string, InputFacts>> = FACTS;

#!/usr/bin/python3
"""Second opinion on exported .tflite files: Arm NN's TFLite parser and CpuRef backend
(Debian: apt-get install python3-pyarmnn; run with /usr/bin/python3), top-1 on the first N
digits of fixtures/data/mnist-test.npz. Dev-only; not part of the test suite.

    /usr/bin/python3 test/bench/tflite-armnn.py a.tflite,b.tflite [N]
"""
import sys, numpy as np, pyarmnn as ann, zipfile, io
z = zipfile.ZipFile('fixtures/data/mnist-test.npz')
x = np.load(io.BytesIO(z.read('x.npy'))); y = np.load(io.BytesIO(z.read('y.npy')))
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200
rt = ann.IRuntime(ann.CreationOptions())
for path in sys.argv[1].split(','):
    parser = ann.ITfLiteParser()
    try:
        net = parser.CreateNetworkFromBinaryFile(path)
    except Exception as e:
        print(path, 'PARSE FAIL', str(e)[:200]); continue
    try:
        opt, msgs = ann.Optimize(net, [ann.BackendId('CpuRef')], rt.GetDeviceSpec(), ann.OptimizerOptions())
        nid, _ = rt.LoadNetwork(opt)
    except Exception as e:
        print(path, 'LOAD FAIL', str(e)[:200]); continue
    names = parser.GetSubgraphInputTensorNames(0); onames = parser.GetSubgraphOutputTensorNames(0)
    ib = parser.GetNetworkInputBindingInfo(0, names[0]); ob = parser.GetNetworkOutputBindingInfo(0, onames[0])
    it = ib[1]; dt = it.GetDataType()
    right = 0
    for i in range(N):
        xi = x[i].reshape(28, 28, 1).astype(np.float32)
        if dt == ann.DataType_QAsymmS8 or dt == ann.DataType_QSymmS8:
            xi = np.clip(np.round(xi / it.GetQuantizationScale()) + it.GetQuantizationOffset(), -128, 127).astype(np.int8)
        inp = ann.make_input_tensors([ib], [xi.reshape(-1)])
        out = ann.make_output_tensors([ob])
        rt.EnqueueWorkload(nid, inp, out)
        r = ann.workload_tensors_to_ndarray(out)[0].astype(np.float32)
        right += int(np.argmax(r) == y[i])
    print(path, 'Arm NN CpuRef top-1', right / N)

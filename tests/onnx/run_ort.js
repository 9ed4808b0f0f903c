// Runs an ONNX model in ONNX Runtime (the npm package onnxruntime-node) on float32 inputs from a
// raw file and writes the float32 outputs to another: the check of tests/test_onnx_runtime.cpp.
// Usage: node run_ort.js ORT_PACKAGE_DIR MODEL INPUT.f32 N C H W OUTPUT.f32 [INPUT_NAME OUTPUT_NAME]
'use strict';
const fs = require('fs');

async function main() {
  const [ortDir, model, input, n, c, h, w, output, inName = 'input', outName = 'output'] = process.argv.slice(2);
  const ort = require(ortDir);
  const dims = [n, c, h, w].map(Number);
  const per = dims[1] * dims[2] * dims[3];
  const bytes = fs.readFileSync(input);
  if (bytes.length !== dims[0] * per * 4) throw new Error(`${input}: ${bytes.length} bytes, expected ${dims[0] * per * 4}`);
  const all = new Float32Array(bytes.buffer, bytes.byteOffset, dims[0] * per);
  const session = await ort.InferenceSession.create(model, {intraOpNumThreads: 2, interOpNumThreads: 1, logSeverityLevel: 3});
  const chunks = [];
  const batch = 1000;  // in batches, so the symbolic batch dimension is exercised with another size than the example's
  for (let start = 0; start < dims[0]; start += batch) {
    const count = Math.min(batch, dims[0] - start);
    const x = new ort.Tensor('float32', all.slice(start * per, (start + count) * per), [count, dims[1], dims[2], dims[3]]);
    const result = await session.run({[inName]: x});
    const y = result[outName];
    chunks.push(Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
  }
  fs.writeFileSync(output, Buffer.concat(chunks));
  console.log(`run_ort.js: ${model}: ${dims[0]} inputs, outputs written to ${output}`);
}

main().catch((e) => { console.error(`run_ort.js: ${e && e.message ? e.message : e}`); process.exit(1); });

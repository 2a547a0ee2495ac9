// Runs a tfjs graph model with @tensorflow/tfjs on the CPU backend, for scripts/convert-models.
//
//   node run_graph_model.js JOB.json
//
// JOB.json: {"model": "path/model.json", "outputs": ["Identity:0", ...],
//            "inputs": [{"file": "x.bin", "shape": [1, 256, 256, 3]}, ...], "out_dir": "dir"}
// Each input file holds raw little-endian float32 values. For input i, output k is written to
// out_dir/out_<i>_<k>.bin (float32) and out_dir/result.json lists the shapes and the tfjs backend.
'use strict';
const fs = require('fs');
const path = require('path');

function readJson(p) {
  return JSON.parse(fs.readFileSync(p, 'utf8'));
}

async function main() {
  const jobPath = process.argv[2];
  if (!jobPath) throw new Error('usage: node run_graph_model.js JOB.json');
  const job = readJson(jobPath);
  const tf = require('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  await tf.ready();

  const modelDir = path.dirname(job.model);
  const mj = readJson(job.model);
  const specs = [];
  const chunks = [];
  for (const group of mj.weightsManifest) {
    for (const p of group.paths) chunks.push(fs.readFileSync(path.join(modelDir, p)));
    specs.push(...group.weights);
  }
  const all = Buffer.concat(chunks);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const model = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: mj.modelTopology, weightSpecs: specs, weightData,
    format: mj.format, generatedBy: mj.generatedBy, convertedBy: mj.convertedBy,
  }));

  const result = { backend: tf.getBackend(), tfjs_version: tf.version.tfjs, runs: [] };
  job.inputs.forEach((inp, i) => {
    const raw = fs.readFileSync(inp.file);
    const n = inp.shape.reduce((a, b) => a * b, 1);
    if (raw.byteLength !== 4 * n) throw new Error(`${inp.file}: ${raw.byteLength} bytes, expected ${4 * n}`);
    const data = new Float32Array(n);
    for (let j = 0; j < n; j++) data[j] = raw.readFloatLE(4 * j);
    const x = tf.tensor(data, inp.shape, 'float32');
    let ys = model.execute(x, job.outputs);
    if (!Array.isArray(ys)) ys = [ys];
    const shapes = [];
    ys.forEach((y, k) => {
      const v = y.dataSync();
      const buf = Buffer.alloc(4 * v.length);
      for (let j = 0; j < v.length; j++) buf.writeFloatLE(v[j], 4 * j);
      fs.writeFileSync(path.join(job.out_dir, `out_${i}_${k}.bin`), buf);
      shapes.push(y.shape);
      y.dispose();
    });
    x.dispose();
    result.runs.push({ shapes });
  });
  fs.writeFileSync(path.join(job.out_dir, 'result.json'), JSON.stringify(result));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});

// Runs the Khronos glTF validator on a GLB file and prints its report as JSON:
//   node validate-gltf.mjs FILE.glb
// The engine's format tests read `issues.numErrors` and `info.totalVertexCount` /
// `info.totalTriangleCount` from it.
import { readFileSync } from 'node:fs';
import validator from 'gltf-validator';

const file = process.argv[2];
const report = await validator.validateBytes(new Uint8Array(readFileSync(file)), {
  uri: file,
  maxIssues: 50,
});
console.log(JSON.stringify(report));

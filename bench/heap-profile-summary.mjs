// Sums a sampling heap profile (bench/heap-sampling.cjs, or Chrome's .heapprofile) per function:
// `node bench/heap-profile-summary.mjs <file> [top=30]` prints the total and the functions that
// allocated most (self size, MB), with their file:line.
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const self = new Map();
let total = 0;
const walk = (node) => {
  const size = node.selfSize ?? 0;
  if (size > 0) {
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(packages|apps|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + size);
    total += size;
  }
  for (const c of node.children ?? []) walk(c);
};
walk(profile.head);
const mb = (b) => (b / 1048576).toFixed(1).padStart(8);
console.log(`${mb(total)} MB total`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 30))) console.log(`${mb(v)}  ${k}`);

// What ran inside the longest event-loop blocks: matches the blocks recorded by
// bench/event-loop-blocks.cjs (BLOCKS=1 BLOCKS_DIR=dir of bench/apply-stall.mjs) to the samples
// of a --cpu-prof of the same process (both on the monotonic clock) and lists, per block, the
// sampled CPU time by leaf function and by the innermost frame of our own code (apps/, packages/).
//   node bench/profile-blocks.mjs <file.cpuprofile> <blocks.txt> [blocks to show, default 8] [windows.txt]
// windows.txt (written by apply-stall.mjs into BLOCKS_DIR: "<label> <start µs> <end µs>" per
// measured window) limits the blocks to those windows (startup and the base config left out).
import fs from 'node:fs';
const [profFile, blocksFile, countArg, windowsFile] = process.argv.slice(2);
const windows = windowsFile === undefined ? null : fs.readFileSync(windowsFile, 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([label, s, e]) => [label, Number(s), Number(e)]);
const windowOf = (s, e) => (windows === null ? '' : (windows.find(([, ws, we]) => e >= ws && s <= we)?.[0] ?? null));
const p = JSON.parse(fs.readFileSync(profFile, 'utf8'));
const blocks = fs.readFileSync(blocksFile, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => l.split(' ').map(Number));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const ts = [];
{
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) ts.push((t += p.timeDeltas[i] ?? 0));
}
// The sampling interval: the median time between samples.
const interval = [...p.timeDeltas].sort((a, b) => a - b)[Math.floor(p.timeDeltas.length / 2)];
const short = (u) => u.replace(/^file:\/\/.*?\/(?=(apps|packages|bench)\/)/, '').replace(/.*node_modules\//, 'nm/');
const frame = (id) => {
  const cf = byId.get(id).callFrame;
  return `${cf.functionName || '(anon)'} ${short(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
};
const ours = (id) => {
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const u = byId.get(cur).callFrame.url;
    if (/\/(apps|packages)\//.test(u) && !u.includes('node_modules')) return frame(cur);
  }
  return '(no frame of ours)';
};
const inProfile = blocks.filter(([s, e]) => s >= p.startTime && e <= p.endTime && windowOf(s, e) !== null);
const shown = [...inProfile].sort((a, b) => b[3] - a[3]).slice(0, Number(countArg ?? 8));
const top = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `    ${(v / 1000).toFixed(1).padStart(6)} ms  ${k}`).join('\n');
for (const [s, e, wall, cpu] of shown) {
  const leaf = new Map();
  const mine = new Map();
  let sampled = 0;
  for (let i = 0; i < ts.length; i++) {
    if (ts[i] < s || ts[i] > e) continue;
    // Counted in samples (one per interval the thread ran), not time deltas: on a loaded machine
    // the gap while the process waited for the CPU lands on whichever sample comes next.
    const d = interval;
    const id = p.samples[i];
    if (byId.get(id).callFrame.functionName === '(idle)') continue;
    sampled += d;
    leaf.set(frame(id), (leaf.get(frame(id)) ?? 0) + d);
    const o = ours(id);
    mine.set(o, (mine.get(o) ?? 0) + d);
  }
  console.log(`block at +${((s - p.startTime) / 1e6).toFixed(3)} s ${windowOf(s, e)}: wall ${wall} ms, process CPU ${cpu} ms, main thread sampled (samples x interval) ${(sampled / 1000).toFixed(1)} ms`);
  console.log('  by leaf:\n' + top(leaf, 8));
  console.log('  by innermost frame of ours:\n' + top(mine, 8));
}

// Summarizes a --cpu-prof of a gateway under load (bench/cpu-per-request.sh PROF=1): self time by
// category (Node module, undici, our packages) and by function, and the inclusive time of our own
// functions, over the loaded window only (from 2.5 s after the first request to the last).
//   node bench/cpu-profile-summary.mjs <file.cpuprofile> [functions to list]
import fs from 'node:fs';
const p = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map(n => [n.id, n]));
const self = new Map();
const dt = p.timeDeltas; let total = 0;
const counts = new Map();
const ts = []; { let t = p.startTime; for (let i = 0; i < p.samples.length; i++) { t += dt[i] ?? 0; ts.push(t); } }
const isHandle = (id) => { const cf = byId.get(id).callFrame; return (cf.functionName === 'handle' && cf.url.includes('proxy.js')) || (cf.url.includes('node-proxy-min') && cf.functionName === 'upstreamHeaders'); };
let first = Infinity, last = 0; for (let i = 0; i < p.samples.length; i++) if (isHandle(p.samples[i])) { first = Math.min(first, ts[i]); last = Math.max(last, ts[i]); }
const lo = first + 2.5e6, hi = last - 0.2e6;
for (let i = 0; i < p.samples.length; i++) { if (ts[i] < lo || ts[i] > hi) continue; const d = dt[i] ?? 0; counts.set(p.samples[i], (counts.get(p.samples[i]) ?? 0) + d); }
const parent = new Map(); for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const fileAgg = new Map(); const fnAgg = new Map(); const incl = new Map();
let idle = 0;
for (const [id, t] of counts) {
  const n = byId.get(id); const cf = n.callFrame;
  if (cf.functionName === '(idle)') { idle += t; continue; }
  total += t;
  const url = cf.url.replace(/^file:\/\/.*?\/(?=(apps|packages|bench)\/)/, '').replace(/.*node_modules\//, 'nm/');
  const key = `${cf.functionName || '(anon)'} ${url}:${cf.lineNumber}`;
  fnAgg.set(key, (fnAgg.get(key) ?? 0) + t);
  let cat = url.startsWith('nm/undici') ? 'undici' : url.startsWith('node:') ? 'node:' + url.split('/')[0].slice(5) : url.startsWith('nm/') ? url.split('/').slice(0, 2).join('/') : url === '' ? cf.functionName : url.split('/').slice(0, 3).join('/');
  fileAgg.set(cat, (fileAgg.get(cat) ?? 0) + t);
  // inclusive for our files
  const seen = new Set(); let cur = id;
  while (cur !== undefined) { const nn = byId.get(cur); const u = nn.callFrame.url; if (/\/(apps|packages)\//.test(u) && !u.includes('node_modules')) { const k = `${nn.callFrame.functionName} ${u.replace(/^file:\/\/.*?\/(?=(apps|packages|bench)\/)/, '')}`; if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + t); } } cur = parent.get(cur); }
}
const pr = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).forEach(([k, v]) => console.log((100 * v / total).toFixed(1).padStart(5) + '%  ' + k));
console.log('busy ms', (total / 1000).toFixed(0), 'idle ms', (idle / 1000).toFixed(0));
console.log('--- by category'); pr(fileAgg, 25);
console.log('--- self by function'); pr(fnAgg, Number(process.argv[3] ?? 45));
console.log('--- inclusive (our code)'); pr(incl, 30);

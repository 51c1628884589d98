// Preloaded into Tollgate processes by `BLOCKS=1 npm run bench:apply-stall` (node --require):
// records every time the event loop came back more than 15 ms late, as
// "<start µs> <end µs> <wall ms> <cpu ms>" lines in $BLOCKS_FILE (monotonic clock, the same as
// process.hrtime in the bench and --cpu-prof timestamps). The CPU column is the process's CPU time
// over the same interval: on a loaded machine the wall time of a block is mostly other processes
// running, its CPU time is what the block itself cost, the part that would hold requests on a
// quiet machine (with one core per process; GC helper threads count too).
'use strict';
const { appendFileSync } = require('node:fs');
const file = process.env.BLOCKS_FILE;
if (file) {
  const INTERVAL_MS = 5;
  const now = () => Number(process.hrtime.bigint() / 1000n);
  let last = now();
  let lastCpu = process.cpuUsage();
  const timer = setInterval(() => {
    const t = now();
    const cpu = process.cpuUsage();
    const lateMs = (t - last) / 1000 - INTERVAL_MS;
    if (lateMs > 15) {
      const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
      appendFileSync(file, `${last} ${t} ${((t - last) / 1000).toFixed(1)} ${cpuMs.toFixed(1)}\n`);
    }
    last = t;
    lastCpu = cpu;
  }, INTERVAL_MS);
  timer.unref();
}

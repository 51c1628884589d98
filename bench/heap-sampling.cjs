// Preloaded into Tollgate processes (NODE_ARGS='--require bench/heap-sampling.cjs', with
// HEAP_PROFILE_DIR=dir): a sampling heap profile of everything the process allocates, objects the
// GC collected included (what `--heap-prof` leaves out), written as
// <dir>/<pid>.heapprofile when the process exits. Sum it per function with
// `node bench/heap-profile-summary.mjs <file>`: which code allocates how much during an apply (#16).
'use strict';
const dir = process.env.HEAP_PROFILE_DIR;
if (dir) {
  const { Session } = require('node:inspector');
  const { writeFileSync } = require('node:fs');
  const { join } = require('node:path');
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', { samplingInterval: Number(process.env.HEAP_PROFILE_INTERVAL ?? 32768), includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  // The main thread's session answers synchronously, so the profile can be taken in 'exit'.
  process.on('exit', () => {
    session.post('HeapProfiler.stopSampling', (err, r) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.heapprofile`), JSON.stringify(r.profile));
    });
  });
}

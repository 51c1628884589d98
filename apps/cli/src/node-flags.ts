/**
 * V8 flags every Tollgate process is launched with (`npm start`, `npm run tollgate`, the
 * `tollgate` bin's shebang, the Docker image's entry point, the test and bench harnesses).
 *
 * `--max-semi-space-size=4`: a 4 MiB young generation instead of V8's 16 MiB default on 64-bit. A
 * scavenge copies what is still alive in the young generation; during an apply the compiled
 * snapshot is alive, so with 16 MiB each scavenge copies up to that much on the serving thread, in
 * one pause. With 4 MiB the pauses are a quarter as long (docs/benchmarks.md, "Apply stall": 11 of
 * 12 applies of 10,000 APIs under 50 ms against 1 of 8), with no CPU per request measured for the
 * extra, cheaper scavenges. V8 reads it only when the process starts, so it cannot be set from
 * inside (v8.setFlagsFromString has no effect on an existing heap): it belongs on the command line.
 */
export const LAUNCH_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/**
 * The young generation's semi-space size the process was started with, in MiB, from its command
 * line and NODE_OPTIONS (the later setting wins, as in V8: NODE_OPTIONS first, then the command
 * line); null when neither sets it (V8's default).
 */
export function semiSpaceMiB(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): number | null {
  let size: number | null = null;
  for (const arg of [...nodeOptions.split(/\s+/), ...execArgv]) {
    const m = /^--max[-_]semi[-_]space[-_]size=(\d+)$/.exec(arg);
    if (m !== null) size = Number(m[1]);
  }
  return size;
}

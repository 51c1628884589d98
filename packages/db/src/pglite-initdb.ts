import { PGlite } from '@electric-sql/pglite';

/**
 * `node pglite-initdb.js <dataDir>`: creates (initdb) an embedded PGlite data directory and
 * closes it again. Run as a child process by openPglite, so that initdb's WebAssembly instances
 * and memory are returned to the system when it exits instead of staying in the serving process
 * (a worker thread was tried: 80 MB more stayed resident; docs/benchmarks.md).
 */
const dataDir = process.argv[2];
if (dataDir === undefined || dataDir === '') {
  process.stderr.write('usage: pglite-initdb.js <dataDir>\n');
  process.exit(64); // EX_USAGE (sysexits.h)
}
const client = await PGlite.create(dataDir);
await client.close();

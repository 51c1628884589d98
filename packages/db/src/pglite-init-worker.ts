import { workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import type { WasmModule } from './client.js';

/**
 * Creates (initdb) an embedded PGlite data directory and closes it again. Run in a worker thread
 * by openPglite: initdb's WebAssembly instances and memory (about 600 MB resident) are released
 * when the worker ends, instead of staying in the serving process for its whole life.
 */
const { dataDir, pgliteWasmModule } = workerData as { dataDir: string; pgliteWasmModule: WasmModule };
const client = await PGlite.create(dataDir, { pgliteWasmModule });
await client.close();

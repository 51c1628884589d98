/**
 * The vitest suite over every runnable block of README.md and docs/*.md (picked up by name, so a
 * new doc is covered without touching this file): one describe per markdown file with a fresh
 * product, one test per block, in order. A block after a failing one is skipped (it would fail
 * for the same reason). Shared by docs-embedded.test.ts and docs-postgres.test.ts (one file per
 * store mode, so vitest can give them separate workers where it has more than one).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { extractBlocks, whereOf, type DocBlock } from './doc-blocks.js';
import { openSession, REPO, stopShared, type DocSession, type StoreMode } from './doc-runner.js';

/** README.md, then docs/*.md in name order. */
export function markdownFiles(): string[] {
  const docs = readdirSync(join(REPO, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** The runnable blocks of one markdown file of the repository. */
export function blocksOf(file: string): DocBlock[] {
  return extractBlocks(readFileSync(join(REPO, file), 'utf8'), file);
}

function title(block: DocBlock): string {
  const first = block.code.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#')) ?? '';
  const what = block.writeTo !== undefined ? `write ${block.writeTo}` : block.lang;
  return `${whereOf(block)} ${what}: ${first.trim().slice(0, 60)}`;
}

/**
 * How many markdown files run at once. Their products and CLI calls are separate processes, so a
 * few files in flight use every core while one waits (a product starting, `sleep 1`); more would
 * only add memory and contention.
 */
const LANES = 2;

/** A rough cost of a file, to balance the lanes: a product start and each shell block. */
function cost(blocks: DocBlock[]): number {
  return 3 + blocks.filter((b) => b.skip === undefined && b.lang === 'shell').length;
}

/**
 * Declares the tests of every markdown file on one store mode. The files are dealt into LANES
 * lanes that run concurrently; within a lane files run one after another, and the blocks of a
 * file in order, each file on its own product and working directory. (Lanes rather than a
 * semaphore: a hook waiting for a slot would hold one of vitest's maxConcurrency slots.)
 */
export function defineDocTests(mode: StoreMode): void {
  afterAll(stopShared);
  const files = markdownFiles()
    .map((file) => ({ file, blocks: blocksOf(file) }))
    .filter((f) => f.blocks.some((b) => b.skip === undefined));
  const lanes = Array.from({ length: LANES }, () => ({ cost: 0, files: [] as typeof files }));
  for (const f of [...files].sort((a, b) => cost(b.blocks) - cost(a.blocks))) {
    const lane = lanes.reduce((min, l) => (l.cost < min.cost ? l : min));
    lane.cost += cost(f.blocks);
    lane.files.push(f);
  }
  // A concurrent suite runs beside its concurrent siblings; what it contains follows its own flag,
  // so the lanes are concurrent and the files in them (describe.sequential) are not.
  describe(`docs (${mode})`, () => {
    lanes.forEach((lane, i) => {
      describe.concurrent(`lane ${i + 1}`, () => {
        for (const { file, blocks } of lane.files.sort((a, b) => a.file.localeCompare(b.file))) defineFile(file, blocks, mode);
      });
    });
  });
}

/** The tests of one markdown file: a session opened before its first block, blocks in order. */
function defineFile(file: string, blocks: DocBlock[], mode: StoreMode): void {
  const runnable = blocks.filter((b) => b.skip === undefined);
  describe.sequential(`${file} (${mode})`, () => {
    let session: DocSession | undefined;
    let failed: string | null = null;
    beforeAll(async () => {
      session = await openSession(file, runnable, mode);
    }, 180_000);
    afterAll(async () => {
      await session?.close();
    });
    for (const block of blocks) {
      if (block.skip !== undefined) {
        it.skip(`${title(block)} (skip: ${block.skip})`, () => {});
        continue;
      }
      it(title(block), async (ctx) => {
        if (failed !== null) ctx.skip(`an earlier block failed (${failed})`);
        // Set before and cleared after, so a timeout also skips the blocks after this one.
        failed = whereOf(block);
        await session!.run(block);
        failed = null;
      }, 90_000); // above the runner's own block timeout (60 s), whose report has the output so far
    }
  });
}

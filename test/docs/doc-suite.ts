/**
 * The vitest suite over every runnable block of README.md and docs/*.md (picked up by name, so a
 * new doc is covered without touching this file): one describe per markdown file with a fresh
 * product, one test per block, in order. A block after a failing one is skipped (it would fail
 * for the same reason). Shared by docs-embedded.test.ts and docs-postgres.test.ts, so the two
 * store modes run in parallel vitest workers.
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

/** Declares the tests of every markdown file on one store mode. */
export function defineDocTests(mode: StoreMode): void {
  afterAll(stopShared);
  for (const file of markdownFiles()) {
    const blocks = blocksOf(file);
    const runnable = blocks.filter((b) => b.skip === undefined);
    if (runnable.length === 0) continue;
    describe(`${file} (${mode})`, () => {
      let session: DocSession;
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
          await session.run(block);
          failed = null;
        }, 45_000);
      }
    });
  }
}

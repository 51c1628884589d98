// Every runnable block of README.md and docs/*.md, on Postgres (a fresh database per markdown file)
// and Redis (a random key prefix per markdown file): TEST_DATABASE_URL, TEST_REDIS_URL.
import { defineDocTests } from './doc-suite.js';

defineDocTests('postgres');

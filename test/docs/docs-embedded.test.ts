// Every runnable block of README.md and docs/*.md, on the embedded store (PGlite, in-process counters).
import { defineDocTests } from './doc-suite.js';

defineDocTests('embedded');

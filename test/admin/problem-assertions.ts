import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';

/** A problem body as the tests read it. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  requestId: string;
  errors?: Array<{ document?: number; resource?: string; path: string; line?: number; code: string; message: string }>;
}

/** Asserts an RFC 9457 problem response with `status` and `code`, and returns its body. */
export function expectProblem(res: LightMyRequestResponse, status: number, code: string, instance?: string): ProblemBody {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json<ProblemBody>();
  expect(body.status).toBe(status);
  expect(body.code).toBe(code);
  expect(body.type).toBe(`https://tollgate.dev/errors/${code.toLowerCase().replaceAll('_', '-')}`);
  expect(body.title.length).toBeGreaterThan(0);
  expect(body.detail.length).toBeGreaterThan(0);
  expect(body.requestId).toBe(res.headers['x-request-id']);
  if (instance !== undefined) expect(body.instance).toBe(instance);
  expect(res.body).not.toMatch(/\n\s+at /); // never a stack trace
  return body;
}

import { z } from 'zod';
import { fieldName } from '../field-name.js';
import { parseIpOrCidr } from '../ip-restriction/schema.js';

/**
 * A value pattern with Istio's matching: `abc` exact, `abc*` prefix, `*abc` suffix, `*` any
 * non-empty value (Istio AuthorizationPolicy reference, "value matching").
 */
const pattern = z.string().min(1).max(1024).describe('`abc` exact, `abc*` prefix, `*abc` suffix, `*` any non-empty value.');
const patterns = z.array(pattern).min(1).max(1_000);

/**
 * A host pattern: compared with the gateway's normalized host, which never has a port, so a
 * pattern with one could never match (a deny rule that silently never applies).
 */
const hostPatterns = z
  .array(pattern.refine((p) => !/^[^[]*:|\]:/.test(p), 'must not contain a port: hosts are compared without one (the gateway normalizes the Host: lower case, no port, no trailing dot)'))
  .min(1)
  .max(1_000);

const ipOrCidr = z.string().refine((s) => parseIpOrCidr(s) !== null, 'must be an IPv4 or IPv6 address or CIDR block, e.g. "10.0.0.0/8"');

const claimCondition = z
  .strictObject({
    claim: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1).max(16)])
      .describe('Claim name, or the path of a nested claim (`[realm_access, roles]`).'),
    values: patterns.optional().describe('The claim (or, for a list claim, one of its elements) matches one of these.'),
    notValues: patterns.optional().describe('The claim (or any of its elements) matches none of these.'),
  })
  .refine((c) => c.values !== undefined || c.notValues !== undefined, { message: 'give values or notValues', path: ['values'] })
  .describe('A condition on a verified JWT claim; a request without the claim matches no `values` and every `notValues`.');

const headerCondition = z
  .strictObject({
    name: fieldName,
    values: patterns.optional(),
    notValues: patterns.optional(),
  })
  .refine((c) => c.values !== undefined || c.notValues !== undefined, { message: 'give values or notValues', path: ['values'] })
  .describe('A condition on a request header (several values are compared joined with ", ").');

export const authorizationRuleSchema = z
  .strictObject({
    name: z.string().max(128).optional().describe('For the operator; not sent to clients.'),
    principals: patterns.optional().describe('`<iss>/<sub>` of the verified JWT matches one of these (`*`: any token).'),
    notPrincipals: patterns.optional().describe('`<iss>/<sub>` matches none of these (`["*"]`: requests without a token).'),
    hosts: hostPatterns.optional().describe("The request's host as the gateway normalized it (lower case, no port, no trailing dot; an absolute-form target's authority rather than Host): the host routing matched. Patterns are compared case-insensitively, a trailing dot ignored."),
    notHosts: hostPatterns.optional(),
    paths: patterns.optional().describe('The normalized request path, without the query.'),
    notPaths: patterns.optional(),
    methods: patterns.optional().describe('The request method, e.g. `GET`.'),
    notMethods: patterns.optional(),
    clientIps: z.array(ipOrCidr).min(1).max(10_000).optional().describe("The client address (after the gateway's trusted-proxy rules) is in one of these."),
    notClientIps: z.array(ipOrCidr).min(1).max(10_000).optional(),
    claims: z.array(claimCondition).max(64).default([]).describe('Every condition must hold.'),
    headers: z.array(headerCondition).max(64).default([]).describe('Every condition must hold.'),
  })
  .describe('A rule matches when every condition it names holds; a rule with no condition matches every request.');

export const authorizationSchema = z
  .strictObject({
    deny: z.array(authorizationRuleSchema).max(1_000).default([]).describe('A request matching any of these is refused with 403 (evaluated first).'),
    allow: z
      .array(authorizationRuleSchema)
      .max(1_000)
      .optional()
      .describe('When set, a request must match one of these or is refused with 403; an empty list admits nothing. Absent: everything not denied is admitted.'),
    message: z.string().max(512).default('You are not allowed to call this route.').describe('Detail text of the 403 AUTHZ_DENIED problem.'),
  })
  .refine((c) => c.deny.length > 0 || c.allow !== undefined, { message: 'set "allow" or at least one "deny" rule', path: ['allow'] })
  .describe('Allows or denies requests by rules on JWT principal and claims, host, path, method, headers and client address (Istio AuthorizationPolicy semantics: deny first, then allow). Runs after authentication; refusals are 403.');

/** Parsed authorization config. */
export type AuthorizationConfig = z.output<typeof authorizationSchema>;
/** Parsed authorization rule. */
export type AuthorizationRule = z.output<typeof authorizationRuleSchema>;

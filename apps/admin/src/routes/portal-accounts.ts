import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PORTAL_ACCOUNT_STATUSES, type AuditContext, type OAuthClientStore } from '@tollgate/stores';
import { auditWritten } from '../audit.js';
import type { AdminContext } from '../context.js';
import { replaceSignatureKeys } from '../portal/credential-routes.js';
import { accountView, type PortalAccounts } from '../portal/portal-accounts.js';
import { requestView } from '../portal/self-service-routes.js';
import { ProblemError } from '../problem.js';
import { errorResponses, problemSchema } from '../schemas.js';
import { readBody } from './body.js';

const accountSchema = z.object({
  id: z.string().describe('`dev_…`'),
  email: z.string(),
  displayName: z.string(),
  status: z.enum(PORTAL_ACCOUNT_STATUSES).describe('`unverified` (email not confirmed), `pending` (waiting for approval), `active`, `rejected`, `disabled`.'),
  consumer: z.string().nullable().describe('The Consumer the account acts as, once active.'),
  createdAt: z.string(),
  emailVerifiedAt: z.string().nullable(),
  decidedAt: z.string().nullable(),
  decidedBy: z.string().nullable(),
});
const listQuery = z.strictObject({ status: z.enum(PORTAL_ACCOUNT_STATUSES).optional().describe('Only accounts in this status (`pending`: the approval queue).') });
const idParams = z.strictObject({ id: z.string().regex(/^dev_[0-9a-f]{16}$/, 'must be a portal account id (dev_…)') });
const requestSchema = z.object({
  id: z.string().describe('`sreq_…`'),
  plan: z.string(),
  consumer: z.string(),
  accountId: z.string(),
  status: z.enum(['pending', 'approved', 'rejected']),
  createdAt: z.string(),
  decidedAt: z.string().nullable(),
  decidedBy: z.string().nullable(),
  subscription: z.string().nullable().describe('The Subscription applied on approval.'),
});
const requestQuery = z.strictObject({ status: z.enum(['pending', 'approved', 'rejected']).optional().describe('Only requests in this status (`pending`: the queue).') });
const requestParams = z.strictObject({ id: z.string().regex(/^sreq_[0-9a-f]{16}$/, 'must be a subscription request id (sreq_…)') });
const inviteBody = z.strictObject({ email: z.string().min(3).max(254) });

function portalOrUnavailable(portal: PortalAccounts | undefined): PortalAccounts {
  if (!portal) throw new ProblemError('UNAVAILABLE', 'the developer portal is off in this admin process (PORTAL=true enables it; docs/portal.md)');
  return portal;
}

/**
 * Operators' side of the developer portal: the approval queue (`GET /portal/accounts?status=pending`),
 * approving and rejecting accounts, and invitations. 503 when the portal is off.
 */
export function register(app: FastifyInstance, ctx: AdminContext, portal: PortalAccounts | undefined, oauthClients?: OAuthClientStore): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['portal'];
  r.get('/portal/accounts', { schema: { tags, summary: 'List developer-portal accounts (no passwords)', querystring: listQuery, response: { 200: z.object({ items: z.array(accountSchema) }), ...errorResponses } } }, async (request) => {
    const accounts = portalOrUnavailable(portal);
    return { items: (await accounts.store.list(request.query.status === undefined ? {} : { status: request.query.status })).map(accountView) };
  });
  r.post('/portal/accounts/:id/approve', { schema: { tags, summary: 'Approve a pending account: it gets its own Consumer and can sign in to create keys', params: idParams, response: { 200: accountSchema, 404: problemSchema, 409: problemSchema, ...errorResponses } } }, async (request) => {
    const approved = await portalOrUnavailable(portal).approve(request.params.id, request.adminActor);
    auditWritten(request);
    return accountView(approved);
  });
  r.post('/portal/accounts/:id/reject', { schema: { tags, summary: 'Reject a pending or unverified account', params: idParams, response: { 200: accountSchema, 404: problemSchema, 409: problemSchema, ...errorResponses } } }, async (request) => {
    const rejected = await portalOrUnavailable(portal).reject(request.params.id, request.adminActor);
    auditWritten(request);
    return accountView(rejected);
  });
  r.post(
    '/portal/accounts/:id/disable',
    {
      schema: {
        tags,
        summary: "Disable an account: it cannot sign in, its sessions end, and its consumer's API keys and OAuth clients are revoked and its signature keys removed",
        params: idParams,
        response: {
          200: accountSchema.extend({
            revokedKeys: z.number().int().describe('API keys revoked with it.'),
            revokedOAuthClients: z.number().int().describe('OAuth clients revoked with it.'),
            removedSignatureKeys: z.number().int().describe("Signature keys removed from its consumer."),
          }),
          404: problemSchema,
          409: problemSchema,
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const disabled = await portalOrUnavailable(portal).disable(request.params.id, request.adminActor);
      let revokedKeys = 0;
      let revokedOAuthClients = 0;
      let removedSignatureKeys = 0;
      const consumer = disabled.consumer;
      if (consumer !== undefined) {
        const audit = (action: string): AuditContext => ({ action, resourceKind: 'Consumer', resourceName: consumer, requestId: request.id, clientAddress: request.ip, ...(request.adminActor ? { actor: request.adminActor } : {}) });
        for (const key of await ctx.apiKeys.list(consumer)) {
          if (key.revokedAt) continue;
          await ctx.apiKeys.revoke(consumer, key.id, audit('api-key.revoke'));
          revokedKeys++;
        }
        // Every credential the developer could have made in the portal stops working with the account.
        for (const client of oauthClients ? await oauthClients.list(consumer) : []) {
          if (client.revokedAt) continue;
          await oauthClients?.revoke(consumer, client.id, audit('oauth-client.revoke'));
          revokedOAuthClients++;
        }
        const stored = await ctx.config.get('Consumer', consumer);
        if (stored?.resource.kind === 'Consumer' && stored.resource.spec.signatureKeys.length > 0) {
          removedSignatureKeys = stored.resource.spec.signatureKeys.length;
          await replaceSignatureKeys(ctx.config, ctx.validate, stored.resource, [], audit('config.apply'));
        }
      }
      auditWritten(request);
      return { ...accountView(disabled), revokedKeys, revokedOAuthClients, removedSignatureKeys };
    },
  );
  r.post('/portal/invitations', { schema: { tags, summary: 'Mail an invitation to sign up (sign-up mode invite, or any open mode)', body: inviteBody, response: { 202: z.object({ email: z.string() }), ...errorResponses } } }, async (request, reply) => {
    // As every small JSON body of the admin API: 400 INVALID_REQUEST naming `body.<field>`, 415 for YAML.
    const { email } = readBody(inviteBody, request.body);
    await portalOrUnavailable(portal).invite(email, request.adminActor);
    auditWritten(request);
    return reply.code(202).send({ email: email.toLowerCase() });
  });
  r.get('/portal/subscription-requests', { schema: { tags, summary: 'Subscriptions developers asked for on plans offered with approval', querystring: requestQuery, response: { 200: z.object({ items: z.array(requestSchema) }), ...errorResponses } } }, async (request) => {
    const accounts = portalOrUnavailable(portal);
    return { items: (await accounts.store.listSubscriptionRequests(request.query.status === undefined ? {} : { status: request.query.status })).map(requestView) };
  });
  r.post('/portal/subscription-requests/:id/approve', { schema: { tags, summary: 'Approve a subscription request: the Subscription starts now (an open one on another plan ends now)', params: requestParams, response: { 200: requestSchema, 404: problemSchema, 409: problemSchema, ...errorResponses } } }, async (request) => {
    const approved = await portalOrUnavailable(portal).approveSubscription(request.params.id, request.adminActor);
    auditWritten(request);
    return requestView(approved);
  });
  r.post('/portal/subscription-requests/:id/reject', { schema: { tags, summary: 'Reject a subscription request', params: requestParams, response: { 200: requestSchema, 404: problemSchema, 409: problemSchema, ...errorResponses } } }, async (request) => {
    const rejected = await portalOrUnavailable(portal).rejectSubscription(request.params.id, request.adminActor);
    auditWritten(request);
    return requestView(rejected);
  });
}

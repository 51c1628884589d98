import type { ConfigIssue, Resource } from '@tollgate/model';
import type { SetValidator } from '@tollgate/stores';
import { refusedUrl, type OutboundPolicy } from './outbound-policy.js';

/**
 * Adds the apply-time SSRF check of Webhook URLs to a set validator: a Webhook whose URL is a
 * literal loopback / link-local / private address (or `localhost`), or this node's own port, makes
 * the apply fail with 422 INVALID_CONFIG naming `spec.url` (code `webhook_url_refused`). DNS names
 * are checked after resolution at delivery time.
 */
export function withWebhookUrlCheck(validate: SetValidator, policy: OutboundPolicy): SetValidator {
  return async (resources: Resource[]) => {
    const issues: ConfigIssue[] = [...(await validate(resources))];
    for (const r of resources) {
      if (r.kind !== 'Webhook') continue;
      const why = refusedUrl(r.spec.url, policy);
      if (why !== null) issues.push({ code: 'webhook_url_refused', message: `webhook URL refused: ${why}`, resource: `Webhook/${r.metadata.name}`, path: 'spec.url' });
    }
    return issues;
  };
}

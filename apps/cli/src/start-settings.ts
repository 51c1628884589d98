import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseWindow } from '@tollgate/model';
import { checkRedisKeyPrefix, parseRedisUrl, REDIS_URL_SCHEMES } from '@tollgate/stores';

const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((s) => (s === undefined || s === '' ? fallback : s === 'true' || s === '1'));
const list = () =>
  z
    .string()
    .default('')
    .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== ''));
/** A duration such as `30s`, `5m`, `1h`, `1d`, in milliseconds. */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((s) => parseWindow(s) !== null, 'must be a duration like "30s", "5m", "1h" or "1d"')
    .transform((s) => parseWindow(s) as number);
/** A Redis key prefix: no braces, which would take the place of Tollgate's hash tags (see `checkRedisKeyPrefix`). */
const keyPrefix = (fallback: string) =>
  z
    .string()
    .min(1)
    .max(128)
    .default(fallback)
    .superRefine((s, ctx) => {
      try {
        checkRedisKeyPrefix(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^key prefix: /, '') });
      }
    });
const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);
const optionalUrl = (schemes: string[]) =>
  z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? undefined : s.trim()))
    .refine((s) => s === undefined || schemes.some((p) => s.startsWith(p)), `must start with ${schemes.join(' or ')}`);

/**
 * The environment Tollgate reads at start. The names are a public contract (deployment files
 * and users depend on them); everything has a default that works on a laptop.
 */
export const settingsSchema = z.object({
  PROXY_PORT: port(8000).describe('Port of the data plane (the proxy).'),
  PROXY_TLS_PORT: port(8443).describe('HTTPS port of the data plane; certificates come from Certificate documents, chosen by SNI.'),
  ADMIN_PORT: port(8001).describe('Port of the admin REST API.'),
  STATUS_PORT: port(8100).describe('Port of the status listener (/healthz, /readyz).'),
  PROXY_HOST: z.string().default('0.0.0.0').describe('Address the proxy binds to.'),
  STATUS_HOST: z.string().default('0.0.0.0').describe('Address the status listener binds to.'),
  ADMIN_HOST: z.string().optional().describe('Address the admin API binds to; 127.0.0.1 when ADMIN_TOKEN is unset, else 0.0.0.0.'),
  ADMIN_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(512 * 1024 * 1024).default(5 * 1024 * 1024).describe('Largest admin request body, bytes; a larger one is 413 while it is read.'),
  ADMIN_MAX_DOCUMENTS: z.coerce.number().int().min(1).max(1_000_000).default(10_000).describe('Most documents (List items counted) one apply may carry; more is 413 at the first document past it.'),
  DATABASE_URL: optionalUrl(['postgres://', 'postgresql://']).describe('Postgres connection string; unset = embedded PGlite under TOLLGATE_DATA.'),
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000).describe('Deadline of a Postgres connection attempt, and of waiting for a free pooled connection, ms.'),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000).describe('Postgres statement_timeout and idle_in_transaction_session_timeout of every session, ms; 0 = none.'),
  DATABASE_QUERY_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(35_000).describe('Client-side deadline of one Postgres query, ms (past it the connection is closed and the query fails); 0 = none.'),
  DATABASE_KEEPALIVE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(10_000).describe('TCP keepalive idle time of Postgres connections, ms.'),
  DATABASE_LISTEN_PING_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000).describe('How often the idle LISTEN session is probed (a probe unanswered within DATABASE_QUERY_TIMEOUT_MS reconnects it), ms; 0 = never.'),
  REDIS_URL: optionalUrl([...REDIS_URL_SCHEMES])
    .superRefine((s, ctx) => {
      if (s === undefined) return;
      try {
        parseRedisUrl(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^REDIS_URL: /, '') });
      }
    })
    .describe('Redis connection string: redis[s]://host:port[/db] (one server), redis[s]+cluster://h1:p1,h2:p2 (Redis Cluster) or redis[s]+sentinel://s1:p1,s2:p2/<primary name>[/db] (Sentinel); unset = in-process counters. See docs/redis.md.'),
  REDIS_KEY_PREFIX: keyPrefix('tollgate:').describe('Prefix of the rate-limit, quota and usage keys in Redis, so several deployments (or test runs) can share one Redis; no `{` or `}` (they would replace the keys\' hash tags on Redis Cluster).'),
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(500).describe('Deadline of a limiter call to Redis, ms; past it the request is decided per plan/policy fail mode. A stall of the gateway\'s own event loop does not count.'),
  QUOTA_HOLD_MS: z.coerce.number().int().min(0).max(600_000).optional().describe('How long plan quotas stay unavailable after a re-seed of an emptied Redis, ms (default max(2000, 3 × USAGE_FLUSH_MS)).'),
  ADMIN_TOKEN: z
    .string()
    .optional()
    .transform((s) => (s === undefined || s === '' ? undefined : s))
    .refine((s) => s === undefined || s.length >= 16, 'must be at least 16 characters')
    .describe('Bootstrap admin token; unset = one is generated on first start and printed once.'),
  TOLLGATE_DATA: z.string().default('./.tollgate').describe('Directory of embedded data (PGlite).'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto').describe('Log lines as JSON (json), readable text (pretty), or pretty on a terminal and JSON otherwise (auto).'),
  FEED_RETENTION_MS: z.coerce.number().int().min(60_000).max(30 * 86_400_000).default(86_400_000).describe('How long the change feed keeps its log of Consumer and Subscription changes, ms; a gateway further behind (down longer) reloads its whole snapshot instead (docs/architecture.md, "The change feed").'),
  CONFIG_POLL_MS: z.coerce.number().int().min(100).max(600_000).default(5_000).describe('Safety-net config version check interval, ms.'),
  DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000).describe('How long in-flight requests may take to finish on shutdown, ms.'),
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== ''))
    .describe('Comma-separated addresses/CIDRs whose X-Forwarded-* headers are trusted.'),
  METRICS: flag(true).describe('Serve Prometheus metrics at /metrics on the status listener.'),
  METRICS_CONSUMER_LABEL: flag(false).describe('Label tollgate_http_requests_total by consumer (one series per consumer: mind cardinality).'),
  ACCESS_LOG: flag(true).describe('Write one JSON access-log line per request.'),
  ACCESS_LOG_FILE: z.string().default('').describe('Append access-log lines to this file (asynchronously) instead of stdout.'),
  LOG_HEADERS: list().describe('Comma-separated request headers to include in the access log.'),
  SENSITIVE_HEADERS: list().describe('Comma-separated headers logged as [REDACTED] (Authorization, Cookie, X-API-Key and the like always are).'),
  LATENCY_HEADERS: flag(false).describe('Add X-Tollgate-Upstream-Latency and X-Tollgate-Latency (ms) to proxied responses.'),
  MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(1_000).describe('Answer 503 OVERLOADED while the event-loop delay exceeds this (ms); 0 disables.'),
  DNS_SERVERS: list()
    .refine((servers) => servers.every(isDnsServer), 'must be comma-separated IP addresses, each optionally with :port ([v6]:port)')
    .describe('Comma-separated DNS servers (ip or ip:port) for upstream targets with discovery: dns or srv; empty = the system resolver configuration.'),
  NODE_ID: z.string().default('').describe('Node id shown by /status; default host name and process id.'),
  WORKERS: z
    .string()
    .default('1')
    .transform((s) => s.trim())
    .refine((s) => s === 'auto' || (/^[1-9][0-9]{0,2}$/.test(s) && Number(s) <= 256), 'must be "auto" or a whole number from 1 to 256')
    .transform((s) => (s === 'auto' ? availableParallelism() : Number(s)))
    .describe('Gateway worker processes sharing the proxy ports (node:cluster), each a full data plane; auto = one per CPU. More than 1 needs DATABASE_URL (and REDIS_URL for limits shared by the workers).'),
  METERING: flag(true).describe('Meter every routed request into the Postgres usage rollups (and Redis live counters).'),
  USAGE_FLUSH_MS: z.coerce.number().int().min(50).max(60_000).default(1_000).describe('How often usage is flushed to Postgres and Redis, ms; what a SIGKILL can lose is bounded by it.'),
  CONSOLE_SESSION_IDLE_MS: z.coerce.number().int().min(60_000).max(24 * 3_600_000).default(30 * 60_000).describe('A web console session unused for this long ends (ms; every request slides it).'),
  CONSOLE_SESSION_MAX_MS: z.coerce.number().int().min(60_000).max(30 * 24 * 3_600_000).default(12 * 3_600_000).describe('A web console session ends this long after sign-in, used or not (ms).'),
  OAUTH_ISSUER: z.string().min(1).max(512).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').default('tollgate').describe('`iss` of the access tokens the gateway issues (oauth2-token); an https URL of the gateway is the usual choice for verifiers outside Tollgate.'),
  OAUTH_KEY_ROTATION_SEC: z.coerce.number().int().min(2).max(365 * 86_400).default(86_400).describe('How long one token-signing key signs before the next takes over (s); the next key is published one period ahead, the previous one stays published until its last token expired.'),
  NODE_HEARTBEAT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000).describe('How often a gateway refreshes its row in gateway_nodes (/status nodes, GET /nodes); a node is listed while its heartbeat is at most three intervals old.'),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl(['http://', 'https://']).describe('OTLP/HTTP collector base URL; set = one span per proxied request exported to <url>/v1/traces (standard OTEL_EXPORTER_OTLP_* variables apply).'),
  OTEL_SERVICE_NAME: z.string().default('tollgate-gateway').describe('service.name of exported spans.'),
  CACHE_KEY_PREFIX: keyPrefix('tollgate:cache:').describe('Prefix of response-cache keys in Redis (and of the purge pub/sub channel, `<prefix>purge`); no `{` or `}` (a hash tag in it would put every entry in one Redis Cluster slot).'),
  CACHE_MEMORY_MAX_ENTRIES: z.coerce.number().int().min(1).max(10_000_000).default(10_000).describe('Most responses the in-memory response cache of a gateway holds (LRU).'),
  CACHE_MEMORY_MAX_BYTES: z.coerce.number().int().min(1024).max(17_179_869_184).default(67_108_864).describe('Most bytes the in-memory response cache of a gateway holds (LRU, approximate).'),
  BILLING_EXPORT_DIR: z.string().default('').describe('Directory the admin process exports each closed month\'s billing reports to (billing-YYYY-MM.csv, .json, .html, .pdf); empty = no export.'),
  BILLING_EXPORT: flag(true).describe('Run the monthly billing export (only when BILLING_EXPORT_DIR is set).'),
  BILLING_EXPORT_DELAY: duration('1h').describe('How long after a month closes its reports are exported, so the last usage flushes land (e.g. 30m, 1h, 1d).'),
  EVENT_WINDOW_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(300_000).describe('Window of the consumer.rate_limited and api.error_rate_* events, ms (aligned to the epoch).'),
  EVENT_RATE_LIMITED_THRESHOLD: z.coerce.number().int().min(1).max(1e9).default(50).describe('Gateway 429s to one consumer within one window (on one node) that raise consumer.rate_limited.'),
  EVENT_ERROR_RATE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.05).describe('5xx share of an API\'s answers in a window above which api.error_rate_high is raised.'),
  EVENT_ERROR_RATE_MIN_REQUESTS: z.coerce.number().int().min(1).max(1e9).default(20).describe('Fewest answers in a window for its error rate to count.'),
  WEBHOOKS: flag(true).describe('Run the webhook dispatcher in this admin process (delivers outbox events to Webhook resources).'),
  EVENT_RETENTION_MS: z.coerce
    .number()
    .int()
    .min(86_400_000, 'must be at least 86400000 (1 day)')
    .max(3_650 * 86_400_000)
    .default(30 * 86_400_000)
    .describe('How long events and their webhook deliveries are kept, ms (default 30 days); older ones are deleted by the admin process in batches (also ones never fanned out, as with WEBHOOKS=false), except events with a delivery still pending.'),
  WEBHOOK_ALLOW_PRIVATE: flag(false).describe('Allow webhook URLs on loopback, link-local and private addresses (SSRF protection off; this node\'s own ports stay refused).'),
  WEBHOOK_ALLOW_CIDRS: z.string().default('').describe('Comma-separated addresses or CIDR ranges webhook URLs may use although private (e.g. 10.20.0.0/16,127.0.0.1/32).'),
  WEBHOOK_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1_000).describe('How often the webhook dispatcher polls the outbox, ms.'),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000).describe('Deadline of one webhook delivery attempt, ms.'),
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(1).max(3_600_000).default(5_000).describe('Delay after a first failed delivery, ms; doubled per attempt, with jitter.'),
  WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(1).max(86_400_000).default(3_600_000).describe('Longest delay between delivery attempts, ms.'),
  WEBHOOK_RETRY_HORIZON_MS: z.coerce.number().int().min(1).max(30 * 86_400_000).default(86_400_000).describe('How long a delivery is retried before it is dead-lettered, ms (default 24 h).'),
  PORTAL: flag(false).describe('Serve the developer portal on its own listener (PORTAL_PORT) from the admin process; off by default, since it lets people sign up (docs/portal.md).'),
  PORTAL_PORT: port(8002).describe('Port of the developer portal; 0 turns the portal off.'),
  PORTAL_HOST: z.string().default('0.0.0.0').describe('Address the developer portal binds to (it is meant to face the internet; the admin API stays on ADMIN_HOST).'),
  PORTAL_SIGNUP: z.enum(['closed', 'invite', 'approval', 'open']).default('approval').describe('Who may create a portal account: closed, invite (an operator\'s invitation), approval (anyone; active once an operator approves) or open (active once the email is verified).'),
  PORTAL_PUBLIC_URL: optionalUrl(['http://', 'https://']).describe('Public address of the portal, used in the links of its mail; default http://127.0.0.1:<PORTAL_PORT>.'),
  PORTAL_GATEWAY_URL: optionalUrl(['http://', 'https://']).describe('Public address of the gateway, shown in the reference docs and called by "try it"; default http://127.0.0.1:<PROXY_PORT>.'),
  PORTAL_TITLE: z.string().min(1).max(80).default('Developer portal').describe('Title of the portal (header, page title, mail subjects).'),
  PORTAL_LOGO_FILE: z.string().default('').describe('SVG, PNG or JPEG file shown as the portal\'s logo; empty = the title only.'),
  PORTAL_PRIMARY_COLOR: z.string().regex(/^#(?:[0-9a-fA-F]{3}){1,2}$/, 'must be a colour like #4f46e5').default('#4f46e5').describe('Main colour of the portal (buttons, links, header accent).'),
  PORTAL_ACCENT_COLOR: z.string().regex(/^#(?:[0-9a-fA-F]{3}){1,2}$/, 'must be a colour like #0ea5e9').default('#0ea5e9').describe('Second colour of the portal (highlights, charts).'),
  SMTP_URL: optionalUrl(['smtp://', 'smtps://']).describe('SMTP server of the portal\'s mail (smtp://user:pass@host:587 with STARTTLS, or smtps://host:465); unset = mail is written to the log (trying it out only).'),
  PORTAL_MAIL_FROM: z.string().default('Tollgate portal <no-reply@localhost>').describe('From address of the portal\'s mail.'),
  BILLING_EXPORT_INTERVAL: duration('5m').describe('How often the admin process checks whether a month is due for export (also checked at start).'),
});

/** `1.2.3.4`, `1.2.3.4:53`, `::1` or `[::1]:53`: what `dns.Resolver.setServers` accepts. */
function isDnsServer(s: string): boolean {
  const v6 = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s);
  if (v6 !== null) return isIP(v6[1] ?? '') === 6 && (v6[2] === undefined || Number(v6[2]) <= 65_535);
  if (isIP(s) !== 0) return true;
  const v4 = /^([\d.]+):(\d{1,5})$/.exec(s);
  return v4 !== null && isIP(v4[1] ?? '') === 4 && Number(v4[2]) <= 65_535;
}

export type Settings = z.infer<typeof settingsSchema> & { dataDir: string; adminHost: string };

/**
 * Variables that may hold secrets and can be given as `<NAME>_FILE` instead, the convention of
 * Docker and Kubernetes secrets (and of the official postgres image): the value is the file's
 * content, so it appears in neither `docker inspect` nor the process environment.
 */
export const SECRET_FILE_VARIABLES = ['ADMIN_TOKEN', 'DATABASE_URL', 'REDIS_URL', 'SMTP_URL'] as const;

/**
 * The environment with every `<NAME>_FILE` read into `<NAME>` (one trailing newline removed, as
 * `echo` and editors add it). Setting both forms is an error: which one wins would be a guess.
 */
export function resolveSecretFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  const problems: string[] = [];
  for (const name of SECRET_FILE_VARIABLES) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`  ${name}_FILE: set ${name} or ${name}_FILE, not both`);
      continue;
    }
    try {
      out[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problems.push(`  ${name}_FILE: cannot read ${file} (${(error as { code?: string }).code ?? (error as Error).message})`);
    }
  }
  if (problems.length > 0) throw new Error(`invalid environment:\n${problems.join('\n')}`);
  return out;
}

/** Reads and checks the environment (and `*_FILE` secrets); throws an Error listing every bad variable. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = settingsSchema.safeParse(resolveSecretFiles(env));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid environment:\n${lines.join('\n')}`);
  }
  const s = parsed.data;
  return {
    ...s,
    dataDir: resolve(s.TOLLGATE_DATA),
    // Without an operator-chosen token the admin API must not be reachable from other hosts
    // (APISIX CVE-2020-13945 shipped a default admin key reachable from anywhere).
    adminHost: s.ADMIN_HOST ?? (s.ADMIN_TOKEN ? '0.0.0.0' : '127.0.0.1'),
  };
}

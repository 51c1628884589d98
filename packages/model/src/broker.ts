import { z } from 'zod';
import { durationMs } from './common.js';
import { pemCertificatesSchema, pemPrivateKeySchema } from './certificate.js';

/** Message brokers a route can publish to, request through or subscribe from (docs/messaging.md). */
export const BROKER_TYPES = ['nats', 'rabbitmq', 'mqtt'] as const;
export type BrokerType = (typeof BROKER_TYPES)[number];

/** URL schemes each broker type accepts (TLS schemes turn TLS on). */
const SCHEMES: Record<BrokerType, readonly string[]> = {
  nats: ['nats:', 'tls:'],
  rabbitmq: ['amqp:', 'amqps:'],
  mqtt: ['mqtt:', 'mqtts:'],
};

const brokerUrl = z
  .string()
  .min(1)
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return u.hostname !== '' && !u.username && !u.password && !u.search && !u.hash;
    } catch {
      return false;
    }
  }, 'must be a URL such as nats://host:4222, amqp://host:5672/vhost or mqtt://host:1883, without credentials (use username and password)')
  .describe('Server URL: `nats://` or `tls://` (NATS), `amqp://` or `amqps://` with an optional virtual host path (RabbitMQ), `mqtt://` or `mqtts://` (MQTT).');

export const brokerTlsSchema = z
  .strictObject({
    ca: pemCertificatesSchema.optional().describe('PEM CA certificates trusted for the broker (default the system roots).'),
    clientCertificate: pemCertificatesSchema.optional().describe('PEM client certificate (mutual TLS), with `clientKey`.'),
    clientKey: pemPrivateKeySchema.optional().describe('PEM private key of `clientCertificate`; shown as `<redacted>` on reads and exports.'),
    serverName: z.string().min(1).max(253).optional().describe('Name checked against the broker certificate (default the URL host).'),
  })
  .refine((t) => (t.clientCertificate === undefined) === (t.clientKey === undefined), 'give clientCertificate and clientKey together')
  .describe('TLS to the broker; on whenever this is given or the URL scheme is a TLS one.');

export const brokerSpecSchema = z
  .strictObject({
    type: z.enum(BROKER_TYPES).describe('`nats` (core and JetStream), `rabbitmq` (AMQP 0-9-1) or `mqtt` (MQTT 5).'),
    servers: z.array(brokerUrl).min(1).max(16).describe('Server URLs; NATS and MQTT fail over between them; RabbitMQ connects to the first.'),
    username: z.string().min(1).max(256).optional().describe('User name.'),
    password: z.string().min(1).max(1024).optional().describe('Password; shown as `<redacted>` on reads and exports.'),
    token: z.string().min(1).max(4096).optional().describe('NATS authentication token; shown as `<redacted>` on reads and exports.'),
    tls: brokerTlsSchema.optional(),
    connectTimeoutMs: durationMs.default(5_000).describe('Time allowed to open a connection.'),
    reconnectDelayMs: durationMs.default(1_000).describe('Wait between reconnection attempts while the broker is down.'),
    confirmTimeoutMs: durationMs.default(5_000).describe('Default time a publish waits for the broker to confirm it (JetStream ack, publisher confirm, PUBACK); past it 503 MESSAGING_NOT_CONFIRMED.'),
  })
  .superRefine((b, ctx) => {
    b.servers.forEach((s, i) => {
      let scheme = '';
      try {
        scheme = new URL(s).protocol;
      } catch {
        return; // reported by brokerUrl
      }
      if (!SCHEMES[b.type].includes(scheme)) ctx.addIssue({ code: 'custom', path: ['servers', i], message: `a ${b.type} broker takes ${SCHEMES[b.type].map((x) => `${x}//`).join(' or ')} URLs` });
    });
    if (b.token !== undefined && b.type !== 'nats') ctx.addIssue({ code: 'custom', path: ['token'], message: 'token is for NATS brokers; use username and password' });
    if (b.token !== undefined && b.username !== undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: 'give a token or a username, not both' });
    if (b.password !== undefined && b.username === undefined) ctx.addIssue({ code: 'custom', path: ['username'], message: 'a password needs its username' });
  })
  .describe('A message broker (NATS, RabbitMQ or MQTT) that messaging routes reach through one shared, reconnecting connection per gateway node.');

export type BrokerSpec = z.infer<typeof brokerSpecSchema>;

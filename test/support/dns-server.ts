import { createSocket, type RemoteInfo } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import dnsPacket from 'dns-packet';

/** The records one name answers with. */
export interface TestDnsRecords {
  A?: string[];
  AAAA?: string[];
  SRV?: Array<{ target: string; port: number; priority?: number; weight?: number }>;
  /** TTL of every record, seconds. Default 1. */
  ttl?: number;
}

/** A DNS server on 127.0.0.1 (UDP) answering from a table the test changes at will. */
export interface TestDnsServer {
  /** `127.0.0.1:<port>`, for `dns.Resolver.setServers` / DNS_SERVERS. */
  readonly address: string;
  /** Records by name (lower case, no trailing dot). Unknown names are NXDOMAIN. */
  readonly records: Map<string, TestDnsRecords>;
  /** When true, every query is answered SERVFAIL (a DNS outage). */
  failing: boolean;
  /** Queries received, as `TYPE name`. */
  readonly queries: string[];
  close(): Promise<void>;
}

/** Starts a tiny authoritative DNS server for tests (dns-packet for the wire format, RFC 1035). */
export async function startTestDnsServer(): Promise<TestDnsServer> {
  const socket = createSocket('udp4');
  const server: TestDnsServer = {
    address: '',
    records: new Map(),
    failing: false,
    queries: [],
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const q = query.questions?.[0];
    if (q === undefined) return;
    const name = q.name.toLowerCase().replace(/\.$/, '');
    server.queries.push(`${q.type} ${name}`);
    const entry = server.records.get(name);
    const answers: dnsPacket.Answer[] = [];
    const ttl = entry?.ttl ?? 1;
    if (entry !== undefined && q.type === 'A') for (const a of entry.A ?? []) answers.push({ type: 'A', name: q.name, ttl, data: a });
    if (entry !== undefined && q.type === 'AAAA') for (const a of entry.AAAA ?? []) answers.push({ type: 'AAAA', name: q.name, ttl, data: a });
    if (entry !== undefined && q.type === 'SRV') {
      for (const s of entry.SRV ?? []) answers.push({ type: 'SRV', name: q.name, ttl, data: { target: s.target, port: s.port, priority: s.priority ?? 10, weight: s.weight ?? 10 } });
    }
    // RCODE 2 SERVFAIL, 3 NXDOMAIN (RFC 1035 §4.1.1); flags: QR, AA, RD copied.
    const rcode = server.failing ? 2 : entry === undefined ? 3 : 0;
    const response = dnsPacket.encode({ type: 'response', id: query.id, flags: dnsPacket.AUTHORITATIVE_ANSWER | (query.flags ?? 0) | rcode, questions: query.questions, answers });
    socket.send(response, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  (server as { address: string }).address = `127.0.0.1:${(socket.address() as AddressInfo).port}`;
  return server;
}

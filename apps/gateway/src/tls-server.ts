import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { onClientError } from './client-error.js';
import type { ProxyApp } from './proxy.js';
import type { ConfigManager } from './config-manager.js';
import type { ResolvedGatewayOptions } from './options.js';
import type { RuntimeSnapshot } from './runtime.js';
import { lookupSni } from './sni.js';

/** The HTTPS listener of the proxy and how it follows snapshots. */
export interface TlsListener {
  readonly server: Server;
  /** Applies a new snapshot's default certificate and client-certificate request setting. */
  apply(snapshot: RuntimeSnapshot): void;
}

/**
 * Builds (without listening) the HTTPS server that terminates TLS and hands requests to the same
 * request handler as the plain listener. The certificate is chosen per handshake by SNI from the
 * CURRENT snapshot (`SNICallback`), so a certificate applied through the admin API serves the
 * next handshake without a restart. An SNI name no certificate claims, with no default
 * certificate, fails the handshake.
 *
 * Client certificates: when any certificate has `clientAuth`, the listener asks every client for
 * one (`requestCert`) without rejecting at the TLS layer; the SNI context carries that host's CA
 * (Node installs the SNI context's trust store and CA list), and right after the handshake a
 * connection to a `required` host without a verified certificate, or to an `optional` host with
 * a certificate that does not verify, is closed before any HTTP is read.
 */
export function createTlsListener(proxy: ProxyApp, manager: ConfigManager, options: ResolvedGatewayOptions): TlsListener {
  const server = createServer({
    SNICallback: (servername, cb) => {
      const snap = manager.current;
      const entry = snap === null ? null : lookupSni(snap.sni, servername);
      if (entry === null) cb(new Error(`no certificate for SNI name ${servername}`));
      else cb(null, entry.context);
    },
    requestCert: false,
    rejectUnauthorized: false,
    requestTimeout: options.requestTimeoutMs,
    headersTimeout: options.headersTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    maxHeaderSize: options.maxHeaderSize,
  });
  server.on('request', proxy.routing);
  server.on('clientError', onClientError);
  server.on('secureConnection', (socket: TLSSocket) => {
    const snap = manager.current;
    if (snap === null || !snap.sni.anyClientAuth) return;
    const servername = (socket as TLSSocket & { servername?: string | false }).servername;
    const entry = lookupSni(snap.sni, typeof servername === 'string' ? servername : undefined);
    if (entry === null || entry.clientAuth === null) return;
    const presented = Object.keys(socket.getPeerCertificate()).length > 0;
    if (socket.authorized) return;
    if (entry.clientAuth === 'required' || presented) socket.destroy();
  });
  // Failed handshakes (unknown SNI, bad client certificate) are the client's problem: no log line per attempt.
  server.on('tlsClientError', (_err, socket) => socket.destroy());

  const apply = (snapshot: RuntimeSnapshot) => {
    const fallback = snapshot.sni.fallback;
    // Clients without SNI get the default certificate; with none, an empty context fails their handshake.
    server.setSecureContext(fallback === null ? {} : { cert: findPem(snapshot, fallback.name, 'certificate'), key: findPem(snapshot, fallback.name, 'privateKey') });
    (server as Server & { requestCert: boolean }).requestCert = snapshot.sni.anyClientAuth;
  };
  return { server, apply };
}

function findPem(snapshot: RuntimeSnapshot, name: string, field: 'certificate' | 'privateKey'): string {
  const c = snapshot.certificates.find((x) => x.name === name);
  if (c === undefined) throw new Error(`certificate ${name} missing from the snapshot`);
  return c[field];
}

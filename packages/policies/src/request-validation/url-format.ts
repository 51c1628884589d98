/**
 * ajv-formats' `url` format (an http, https or ftp URL on a public host) is one regular
 * expression whose nested quantifiers backtrack quadratically: a 40 000-character value took
 * seconds, so one request body could stall the gateway. This is the same check in linear time:
 * the WHATWG URL parser, then the scheme, IPv4 and host-name rules of that expression.
 */
const SCHEME = /^(?:https?|ftp):\/\//i;
const WHITESPACE = /\s/u;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
/** Host names need a top-level label of at least two letters (or an IDNA one). */
const TLD = /\.(?:[a-z]{2,}|xn--[a-z0-9-]+)$/i;

function publicIpv4(host: string): boolean | undefined {
  const m = IPV4.exec(host);
  if (m === null) return undefined;
  const [a, b, , d] = m.slice(1).map(Number) as [number, number, number, number];
  if (a === 10 || a === 127 || (a === 169 && b === 254) || (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31)) return false;
  // First octet 1–223 (no 0/8, multicast or reserved), last octet 1–254, as the original expression.
  return a >= 1 && a <= 223 && d >= 1 && d <= 254;
}

export function isPublicUrl(value: string): boolean {
  if (!SCHEME.test(value) || WHITESPACE.test(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const host = url.hostname;
  if (host === '' || host.startsWith('[')) return false;
  const ip = publicIpv4(host);
  if (ip !== undefined) return ip;
  return TLD.test(host) && !host.split('.').some((label) => label === '' || label.startsWith('-') || label.endsWith('-'));
}

/**
 * The request's host: validated and normalized once per request, the one value the route table,
 * the policies (authorization `hosts`, the cache key) and the access log use.
 *
 * Grammar (RFC 9110 §7.2, RFC 3986 §3.2.2-3.2.3): `uri-host [ ":" port ]`, where `port = *DIGIT`.
 * Accepted hosts are DNS-style names (letters, digits, `-`, `_`, `.`; no empty label, at most
 * one trailing dot), IPv4 addresses, and bracketed IPv6 literals. RFC 3986's reg-name also
 * allows sub-delims and %-escapes; no DNS name contains them and servers disagree on how to read
 * them (the class of Istio CVE-2021-39155), so they are refused like userinfo (`a@b`), junk after
 * the port (`h:80x`, `h:80:81`), whitespace and control characters: RFC 9112 §3.2 requires 400
 * for an invalid Host.
 */

/** A valid host's normalized form: lower case, without port and without a trailing dot. */
export type NormalizedHost = string;

/** Longest accepted Host value: a 253-character name, its trailing dot, and `:65535`. */
const MAX_HOST_LENGTH = 260;

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 /* - */ || c === 95 /* _ */;
}

function isIpv6Char(c: number): boolean {
  return (c >= 48 && c <= 58) /* 0-9 : */ || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 46 /* . */;
}

/**
 * Validates a Host field value (or the authority of an absolute-form target, which must not
 * carry userinfo either: RFC 9110 §4.2.4) and returns its normalized form, or null when it is
 * invalid. The empty value is valid (RFC 9110 §7.2: a target without authority) and gives ''.
 * Allocates only for a value that is not already normalized.
 */
export function parseHost(value: string): NormalizedHost | null {
  const len = value.length;
  if (len > MAX_HOST_LENGTH) return null;
  let end: number; // end of the host part (exclusive)
  let upper = false;
  if (value.charCodeAt(0) === 91 /* [ */) {
    const close = value.indexOf(']');
    if (close < 3) return null;
    for (let i = 1; i < close; i++) {
      const c = value.charCodeAt(i);
      if (!isIpv6Char(c)) return null;
      if (c >= 65 && c <= 70) upper = true;
    }
    end = close + 1;
  } else {
    end = 0;
    let labelStart = 0;
    for (; end < len; end++) {
      const c = value.charCodeAt(end);
      if (c === 58 /* : */) break;
      if (c === 46 /* . */) {
        // No empty label: not at the start, not two dots in a row.
        if (end === labelStart) return null;
        labelStart = end + 1;
      } else if (!isNameChar(c)) return null;
      else if (c >= 65 && c <= 90) upper = true;
    }
  }
  if (end === 0 && len > 0) return null; // a port without a host
  // Port: ":" then digits only (possibly none, RFC 3986 §3.2.3), at most 65535.
  if (end < len) {
    if (value.charCodeAt(end) !== 58) return null;
    const digits = len - end - 1;
    if (digits > 5) return null;
    let port = 0;
    for (let i = end + 1; i < len; i++) {
      const c = value.charCodeAt(i);
      if (c < 48 || c > 57) return null;
      port = port * 10 + (c - 48);
    }
    if (port > 65535) return null;
  }
  let hostEnd = end;
  if (hostEnd > 0 && value.charCodeAt(hostEnd - 1) === 46) hostEnd--;
  if (hostEnd === 0 && end > 0) return null; // "." alone
  const h = hostEnd === len ? value : value.slice(0, hostEnd);
  return upper ? h.toLowerCase() : h;
}

/**
 * The authority of an absolute-form request-target (`http://a.example:8080/x`, RFC 9112 §3.2.2),
 * or null for any other form. It is returned as sent, userinfo included, for the caller to
 * validate with {@link parseHost}.
 */
export function targetAuthority(url: string): string | null {
  if (url.charCodeAt(0) === 47 /* / */) return null;
  const sep = url.indexOf('://');
  if (sep <= 0) return null;
  for (let i = 0; i < sep; i++) {
    const c = url.charCodeAt(i);
    const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!alpha && (i === 0 || !((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46))) return null;
  }
  const start = sep + 3;
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 47 || c === 63 || c === 35) break; // '/', '?', '#'
    end++;
  }
  return url.slice(start, end);
}

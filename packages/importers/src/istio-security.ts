import { isIP } from 'node:net';
import type { ApiResource, PolicyRef } from '@tollgate/model';
import type { AuthorizationRuleLists } from './authorization-rule.js';
import type { DocReader } from './context.js';

type Json = Record<string, unknown>;
type Path = (string | number)[];

/** Where the security kinds apply: the gateway workload Tollgate stands for. */
export interface SecurityScope {
  /** Labels of this gateway, matched by `spec.selector.matchLabels`. */
  labels: Readonly<Record<string, string>>;
  /** Namespace the gateway workload runs in (Istio's ingress gateway: `istio-system`). */
  gatewayNamespace: string;
  /** Istio's root namespace: policies there apply to every workload (default `istio-system`). */
  rootNamespace: string;
  /** Whether a Gateway API Gateway of the set is served (undefined: not in the set). */
  servedGateway?: (name: string) => boolean | undefined;
}

/**
 * Every asymmetric algorithm. Istio pins none (Envoy accepts what the key allows); pinning the
 * asymmetric family keeps HS256-with-a-public-key confusion out (RFC 8725 §3.1).
 */
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/** Envoy's jwt_authn default clock skew, in seconds. */
const ENVOY_CLOCK_SKEW_SEC = 60;

/** Most Tollgate rules one Istio rule may expand to (from × to). */
const MAX_EXPANDED_RULES = 256;

/** An authorization rule being built (the `authorization` policy's rule shape). */
interface RuleDraft extends AuthorizationRuleLists {
  claims: Array<{ claim: string[]; values?: string[]; notValues?: string[] }>;
  headers: Array<{ name: string; values?: string[]; notValues?: string[] }>;
}

type ListField = 'principals' | 'hosts' | 'paths' | 'methods' | 'clientIps';

/** One translated condition of a source, an operation or a `when`. */
type Constraint =
  | { kind: 'list'; field: ListField; negative: boolean; values: string[]; path: Path }
  | { kind: 'claim'; claim: string[]; values?: string[]; notValues?: string[] }
  | { kind: 'header'; name: string; values?: string[]; notValues?: string[] }
  | { kind: 'never' };

const NOT: Record<ListField, keyof RuleDraft> = { principals: 'notPrincipals', hosts: 'notHosts', paths: 'notPaths', methods: 'notMethods', clientIps: 'notClientIps' };

/**
 * Collects `security.istio.io` RequestAuthentication and AuthorizationPolicy documents that apply
 * to the gateway and attaches them, as `jwt-auth` and `authorization` policies, to every Api
 * translated from a VirtualService, an Ingress or an HTTPRoute in the same set.
 */
export class SecurityCollector {
  readonly #issuers: Json[] = [];
  readonly #headers: Array<{ name: string; prefix: string }> = [];
  readonly #params = new Set<string>();
  #cookie: string | undefined;
  #locationsSeen: string | undefined;
  readonly #deny: RuleDraft[] = [];
  #allow: RuleDraft[] | undefined;
  /** Readers of the documents that apply (an error is reported on them when nothing is protected). */
  readonly #applied: DocReader[] = [];

  constructor(private readonly scope: SecurityScope) {}

  /** True when a policy document applies to Tollgate's gateway workload (warns when it does not). */
  #selects(r: DocReader, value: Json, spec: Json): boolean {
    const metadata = value.metadata as Json;
    const ns = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
    const inScope = ns === undefined || ns === this.scope.gatewayNamespace || ns === this.scope.rootNamespace;
    const selector = r.obj(spec.selector, ['spec', 'selector']);
    const refs = [...(spec.targetRef !== undefined ? [{ v: spec.targetRef, p: ['spec', 'targetRef'] as Path }] : []), ...r.arr(spec.targetRefs, ['spec', 'targetRefs']).map((v, i) => ({ v, p: ['spec', 'targetRefs', i] as Path }))];
    if (selector) {
      r.only(selector, ['spec', 'selector'], ['matchLabels']);
      const labels = r.labels(selector.matchLabels, ['spec', 'selector', 'matchLabels']);
      if (!Object.entries(labels).every(([k, v]) => this.scope.labels[k] === v)) {
        r.warn(['spec', 'selector'], `the selector ${JSON.stringify(labels)} does not match Tollgate's gateway labels ${JSON.stringify(this.scope.labels)}; the policy is ignored`);
        return false;
      }
      if (!inScope) {
        r.warn(['metadata', 'namespace'], `a selector in namespace "${ns}" selects workloads of that namespace only, not the gateway (namespace "${this.scope.gatewayNamespace}"); the policy is ignored`);
        return false;
      }
      return true;
    }
    if (refs.length > 0) {
      // targetRef(s) of kind Gateway (gateway.networking.k8s.io) name a gateway: Tollgate is the gateway it serves.
      let any = false;
      for (const { v, p } of refs) {
        const ref = r.obj(v, p) ?? {};
        r.only(ref, p, ['group', 'kind', 'name', 'namespace']);
        const kind = r.str(ref.kind, [...p, 'kind']);
        const group = r.str(ref.group, [...p, 'group']) ?? 'gateway.networking.k8s.io';
        if (kind === 'Gateway' && group === 'gateway.networking.k8s.io') {
          const name = r.str(ref.name, [...p, 'name']) ?? '';
          // A Gateway of the set that Tollgate does not serve (another class) is another gateway's.
          if (this.scope.servedGateway?.(name) === false) r.warn(p, `Gateway "${name}" is not served by Tollgate; the reference does not select it`);
          else any = true;
        } else r.warn(p, `targetRef ${group}/${kind ?? '?'} is not a gateway; only targetRefs of kind Gateway apply to Tollgate`);
      }
      return any;
    }
    if (!inScope) {
      r.warn(['metadata', 'namespace'], `a policy without selector applies to the workloads of its namespace "${ns}", not to the gateway (namespace "${this.scope.gatewayNamespace}", root namespace "${this.scope.rootNamespace}"); the policy is ignored`);
      return false;
    }
    return true;
  }

  /** `security.istio.io` RequestAuthentication: its jwtRules join the gateway's jwt-auth issuers. */
  readRequestAuthentication(r: DocReader, value: Json): void {
    r.only(value, [], ['apiVersion', 'kind', 'metadata', 'spec']);
    const spec = r.obj(value.spec, ['spec']) ?? {};
    r.only(spec, ['spec'], ['selector', 'targetRef', 'targetRefs', 'jwtRules']);
    if (!this.#selects(r, value, spec)) return;
    this.#applied.push(r);
    r.arr(spec.jwtRules, ['spec', 'jwtRules']).forEach((v, i) => this.#jwtRule(r, v, ['spec', 'jwtRules', i]));
  }

  #jwtRule(r: DocReader, v: unknown, path: Path): void {
    const rule = r.obj(v, path);
    if (!rule) return;
    r.only(rule, path, ['issuer', 'audiences', 'jwksUri', 'jwks_uri', 'jwks', 'fromHeaders', 'fromParams', 'fromCookies', 'outputPayloadToHeader', 'forwardOriginalToken', 'outputClaimToHeaders', 'timeout']);
    const issuer = r.str(rule.issuer, [...path, 'issuer']);
    if (!issuer) return r.error([...path, 'issuer'], 'issuer is required');
    if (this.#issuers.some((i) => i.issuer === issuer)) return r.warn([...path, 'issuer'], `issuer "${issuer}" is already defined by another jwtRule; this one is ignored`);
    const strings = (key: string): string[] => r.arr(rule[key], [...path, key]).map((x, k) => r.str(x, [...path, key, k])).filter((x): x is string => x !== undefined && x !== '');
    const audiences = strings('audiences');
    const jwksUri = r.str(rule.jwksUri ?? rule.jwks_uri, [...path, rule.jwksUri !== undefined ? 'jwksUri' : 'jwks_uri']);
    let jwks: Json | undefined;
    const jwksText = r.str(rule.jwks, [...path, 'jwks']);
    if (jwksText !== undefined) {
      // Istio's `jwks` is the key set as a JSON string.
      try {
        const parsed = JSON.parse(jwksText) as unknown;
        if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as Json).keys)) throw new Error('no "keys" list');
        jwks = { keys: (parsed as Json).keys };
      } catch (err) {
        return r.error([...path, 'jwks'], `jwks must be a JSON Web Key Set as a JSON string: ${err instanceof Error ? err.message : String(err)}`, 'invalid_jwks');
      }
    }
    if (jwksUri === undefined && jwks === undefined) {
      return r.error([...path, 'jwksUri'], 'give jwksUri or jwks: Tollgate does not discover keys through OpenID Connect discovery', 'unsupported_value');
    }
    // Token locations. Istio's defaults when none is given: `Authorization: Bearer` and `access_token`.
    const headers: Array<{ name: string; prefix: string }> = [];
    r.arr(rule.fromHeaders, [...path, 'fromHeaders']).forEach((h, k) => {
      const hp = [...path, 'fromHeaders', k];
      const o = r.obj(h, hp) ?? {};
      r.only(o, hp, ['name', 'prefix']);
      const name = r.str(o.name, [...hp, 'name']);
      if (!name) return r.error([...hp, 'name'], 'name is required');
      headers.push({ name: name.toLowerCase(), prefix: r.str(o.prefix, [...hp, 'prefix']) ?? '' });
    });
    const params = strings('fromParams');
    const cookies = strings('fromCookies');
    if (headers.length + params.length + cookies.length === 0) {
      headers.push({ name: 'authorization', prefix: 'Bearer ' });
      params.push('access_token');
    }
    const locations = JSON.stringify([headers, [...params].sort(), cookies]);
    if (this.#locationsSeen !== undefined && this.#locationsSeen !== locations) {
      r.warn(path, "jwtRules read tokens from different places; Tollgate reads every issuer's token from all of them");
    }
    this.#locationsSeen ??= locations;
    for (const h of headers) if (!this.#headers.some((x) => x.name === h.name && x.prefix === h.prefix)) this.#headers.push(h);
    for (const p of params) this.#params.add(p);
    for (const c of cookies) {
      if (this.#cookie === undefined) this.#cookie = c;
      else if (this.#cookie !== c) r.warn([...path, 'fromCookies'], `only one token cookie is read ("${this.#cookie}"); "${c}" is ignored`);
    }
    const forwardClaims: Array<{ claim: string; header: string }> = [];
    r.arr(rule.outputClaimToHeaders, [...path, 'outputClaimToHeaders']).forEach((o, k) => {
      const op = [...path, 'outputClaimToHeaders', k];
      const x = r.obj(o, op) ?? {};
      r.only(x, op, ['header', 'claim']);
      const header = r.str(x.header, [...op, 'header']);
      const claim = r.str(x.claim, [...op, 'claim']);
      if (header && claim) forwardClaims.push({ claim, header });
      else r.error(op, 'header and claim are required');
    });
    const payloadHeader = r.str(rule.outputPayloadToHeader, [...path, 'outputPayloadToHeader']);
    const timeout = r.duration(rule.timeout, [...path, 'timeout']);
    this.#issuers.push({
      issuer,
      algorithms: [...ASYMMETRIC],
      // Without audiences Istio (Envoy) does not check `aud`.
      ...(audiences.length > 0 ? { audiences } : { anyAudience: true }),
      ...(jwksUri !== undefined ? { jwksUri } : {}),
      ...(jwks !== undefined ? { jwks } : {}),
      // Istio removes the token before forwarding unless forwardOriginalToken is true.
      forwardToken: r.bool(rule.forwardOriginalToken, [...path, 'forwardOriginalToken']) ?? false,
      forwardClaims,
      ...(payloadHeader ? { payloadHeader } : {}),
      ...(timeout !== undefined ? { jwksTimeoutMs: Math.min(60_000, Math.max(100, timeout)) } : {}),
    });
  }

  /** `security.istio.io` AuthorizationPolicy: DENY and ALLOW rules join the gateway's authorization policy. */
  readAuthorizationPolicy(r: DocReader, value: Json): void {
    r.only(value, [], ['apiVersion', 'kind', 'metadata', 'spec']);
    const spec = r.obj(value.spec, ['spec']) ?? {};
    r.only(spec, ['spec'], ['selector', 'targetRef', 'targetRefs', 'action', 'provider', 'rules']);
    if (!this.#selects(r, value, spec)) return;
    const action = r.str(spec.action, ['spec', 'action']) ?? 'ALLOW';
    if (action === 'AUDIT') return r.warn(['spec', 'action'], 'AUDIT policies only mark requests for an audit plugin; Tollgate has none and ignores the policy (it never changes a decision)');
    if (action === 'CUSTOM') return r.warn(['spec', 'action'], 'CUSTOM (external authorization) is not supported; the policy is ignored and requests are not sent to the external authorizer');
    if (action !== 'ALLOW' && action !== 'DENY') return r.error(['spec', 'action'], `action must be ALLOW, DENY, AUDIT or CUSTOM, not "${action}"`, 'invalid_value');
    if (spec.provider !== undefined) r.warn(['spec', 'provider'], 'provider is only used by CUSTOM policies and is ignored');
    this.#applied.push(r);
    const deny = action === 'DENY';
    // An ALLOW policy without rules matches nothing: with it, the workload admits nothing no other ALLOW rule admits.
    if (!deny) this.#allow ??= [];
    const target = deny ? this.#deny : (this.#allow as RuleDraft[]);
    r.arr(spec.rules, ['spec', 'rules']).forEach((rv, i) => {
      const path: Path = ['spec', 'rules', i];
      const rule = r.obj(rv, path) ?? {};
      r.only(rule, path, ['from', 'to', 'when']);
      const sources = r.arr(rule.from, [...path, 'from']).map((f, k) => this.#source(r, f, [...path, 'from', k], deny));
      const operations = r.arr(rule.to, [...path, 'to']).map((t, k) => this.#operation(r, t, [...path, 'to', k], deny));
      const when = r.arr(rule.when, [...path, 'when']).flatMap((c, k) => this.#condition(r, c, [...path, 'when', k], deny));
      // A rule matches when one source, one operation and every condition match (empty lists match all).
      const froms = sources.length > 0 ? sources : [[]];
      const tos = operations.length > 0 ? operations : [[]];
      if (froms.length * tos.length > MAX_EXPANDED_RULES) return r.error(path, `from × to expands to ${froms.length * tos.length} rules; at most ${MAX_EXPANDED_RULES} are supported`, 'too_large');
      for (const f of froms) {
        for (const t of tos) {
          const draft = this.#combine(r, [...f, ...t, ...when], deny);
          if (draft) target.push(draft);
        }
      }
    });
  }

  /** Applies constraints to an empty rule; undefined when the rule can never match. */
  #combine(r: DocReader, constraints: readonly Constraint[], deny: boolean): RuleDraft | undefined {
    const draft: RuleDraft = { claims: [], headers: [] };
    for (const c of constraints) {
      if (c.kind === 'never') return undefined;
      if (c.kind === 'claim') draft.claims.push({ claim: c.claim, ...(c.values ? { values: c.values } : {}), ...(c.notValues ? { notValues: c.notValues } : {}) });
      else if (c.kind === 'header') draft.headers.push({ name: c.name, ...(c.values ? { values: c.values } : {}), ...(c.notValues ? { notValues: c.notValues } : {}) });
      else {
        const key = (c.negative ? NOT[c.field] : c.field) as ListField;
        const prev = draft[key];
        if (prev === undefined) draft[key] = [...c.values];
        else if (c.negative) draft[key] = [...new Set([...prev, ...c.values])]; // not A and not B = not (A or B)
        else {
          // A and B on one attribute: an intersection, exact when both are lists of exact values or one is `*`.
          const exact = (l: string[]) => c.field === 'clientIps' || l.every((x) => !x.includes('*'));
          if (prev.length === 1 && prev[0] === '*' && c.field !== 'clientIps') draft[key] = [...c.values];
          else if (c.values.length === 1 && c.values[0] === '*' && c.field !== 'clientIps') continue;
          else if (exact(prev) && exact(c.values) && c.field !== 'clientIps') {
            const both = prev.filter((x) => c.values.includes(x));
            if (both.length === 0) return undefined;
            draft[key] = both;
          } else if (deny) {
            r.warn(c.path, `this condition on ${c.field} cannot be combined with another one on the same attribute; it is ignored, so the DENY rule matches more requests`);
          } else {
            r.warn(c.path, `this condition on ${c.field} cannot be combined with another one on the same attribute; the ALLOW rule is dropped (it admits nothing)`);
            return undefined;
          }
        }
      }
    }
    return draft;
  }

  /**
   * A condition Tollgate cannot evaluate, handled the way that fails closed (as Istio does for
   * fields a workload cannot evaluate): an ALLOW rule with it never matches; in a DENY rule the
   * condition is dropped, so the rule denies more.
   */
  #unsupported(r: DocReader, path: Path, what: string, deny: boolean): Constraint[] {
    r.warn(path, deny ? `${what} is not supported; the condition is ignored, so the DENY rule matches more requests` : `${what} is not supported; the ALLOW rule can never match in Tollgate and admits nothing`);
    return deny ? [] : [{ kind: 'never' }];
  }

  /**
   * A peer (mTLS) identity attribute. External clients of an edge gateway have none, so the
   * attribute is absent: a positive list never matches and a negative list always holds.
   */
  #peerIdentity(r: DocReader, path: Path, negative: boolean): Constraint[] {
    r.warn(path, `peer (mTLS) identities do not exist at Tollgate's edge: the attribute is treated as absent, so this ${negative ? 'negative condition always holds' : 'condition never matches'}`);
    return negative ? [] : [{ kind: 'never' }];
  }

  #values(r: DocReader, v: unknown, path: Path): string[] {
    return r.arr(v, path).map((x, k) => r.str(x, [...path, k])).filter((x): x is string => x !== undefined);
  }

  #ips(r: DocReader, v: unknown, path: Path): string[] {
    const out = this.#values(r, v, path);
    out.forEach((s, k) => {
      const [addr, prefix] = s.split('/');
      const family = isIP(addr ?? '');
      if (family === 0 || (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)))) r.error([...path, k], `"${s}" is not an IP address or CIDR block`, 'invalid_value');
    });
    return out;
  }

  #source(r: DocReader, v: unknown, path: Path, deny: boolean): Constraint[] {
    const wrapper = r.obj(v, path) ?? {};
    r.only(wrapper, path, ['source']);
    const sp = [...path, 'source'];
    const s = r.obj(wrapper.source, sp) ?? {};
    const out: Constraint[] = [];
    for (const [key, raw] of Object.entries(s)) {
      const p = [...sp, key];
      switch (key) {
        case 'requestPrincipals':
        case 'notRequestPrincipals':
          out.push({ kind: 'list', field: 'principals', negative: key.startsWith('not'), values: this.#values(r, raw, p), path: p });
          break;
        case 'remoteIpBlocks':
        case 'notRemoteIpBlocks':
          out.push({ kind: 'list', field: 'clientIps', negative: key.startsWith('not'), values: this.#ips(r, raw, p), path: p });
          break;
        case 'ipBlocks':
        case 'notIpBlocks':
          r.warn(p, "Istio compares the direct peer address; Tollgate compares the client address after its trusted-proxy rules (the same when no proxy is trusted)");
          out.push({ kind: 'list', field: 'clientIps', negative: key.startsWith('not'), values: this.#ips(r, raw, p), path: p });
          break;
        case 'principals':
        case 'namespaces':
        case 'notPrincipals':
        case 'notNamespaces':
          out.push(...this.#peerIdentity(r, p, key.startsWith('not')));
          break;
        default:
          out.push(...this.#unsupported(r, p, `source field "${key}"`, deny));
      }
    }
    return out;
  }

  #operation(r: DocReader, v: unknown, path: Path, deny: boolean): Constraint[] {
    const wrapper = r.obj(v, path) ?? {};
    r.only(wrapper, path, ['operation']);
    const op = [...path, 'operation'];
    const o = r.obj(wrapper.operation, op) ?? {};
    const out: Constraint[] = [];
    for (const [key, raw] of Object.entries(o)) {
      const p = [...op, key];
      const field = ({ hosts: 'hosts', notHosts: 'hosts', paths: 'paths', notPaths: 'paths', methods: 'methods', notMethods: 'methods' } as Record<string, ListField>)[key];
      if (field === undefined) {
        out.push(...this.#unsupported(r, p, `operation field "${key}"`, deny));
        continue;
      }
      let values = this.#values(r, raw, p);
      if (field === 'hosts') {
        // Tollgate compares the normalized host, which has no port (the router ignores it too):
        // `a.example:8080` / `a.example:*` become `a.example`, which takes every port of that host.
        const stripped = [...new Set(values.map((x) => x.replace(/(^[^[]*|\])(:[0-9*]*)$/, '$1')))];
        if (stripped.length !== values.length || stripped.some((x, i) => x !== values[i])) {
          r.warn(p, 'Tollgate compares hosts without their port (the gateway routes every port of a host alike); ports were removed from these values');
        }
        values = stripped;
      }
      // Istio 1.22+ path templates ({*}, {**}) are not implemented.
      if (field === 'paths' && values.some((x) => x.includes('{'))) {
        out.push(...this.#unsupported(r, p, 'path templates ({*}, {**})', deny));
        continue;
      }
      out.push({ kind: 'list', field, negative: key.startsWith('not'), values, path: p });
    }
    return out;
  }

  #condition(r: DocReader, v: unknown, path: Path, deny: boolean): Constraint[] {
    const c = r.obj(v, path) ?? {};
    r.only(c, path, ['key', 'values', 'notValues']);
    const key = r.str(c.key, [...path, 'key']) ?? '';
    const values = c.values !== undefined ? this.#values(r, c.values, [...path, 'values']) : undefined;
    const notValues = c.notValues !== undefined ? this.#values(r, c.notValues, [...path, 'notValues']) : undefined;
    if (values === undefined && notValues === undefined) {
      r.error(path, 'a condition needs values or notValues');
      return [];
    }
    const list = (field: ListField): Constraint[] => [
      ...(values ? [{ kind: 'list' as const, field, negative: false, values, path: [...path, 'values'] }] : []),
      ...(notValues ? [{ kind: 'list' as const, field, negative: true, values: notValues, path: [...path, 'notValues'] }] : []),
    ];
    const claim = (names: string[]): Constraint[] => [{ kind: 'claim', claim: names, ...(values ? { values } : {}), ...(notValues ? { notValues } : {}) }];
    if (key === 'request.auth.principal') return list('principals');
    // request.auth.audiences is the `aud` claim, request.auth.presenter the `azp` claim (Istio conditions reference).
    if (key === 'request.auth.audiences') return claim(['aud']);
    if (key === 'request.auth.presenter') return claim(['azp']);
    const claims = /^request\.auth\.claims((?:\[[^\][]+\])+)$/.exec(key);
    if (claims?.[1]) return claim([...claims[1].matchAll(/\[([^\][]+)\]/g)].map((m) => m[1] as string));
    const header = /^request\.headers\[([^\][]+)\]$/.exec(key);
    if (header?.[1]) return [{ kind: 'header', name: header[1].toLowerCase(), ...(values ? { values } : {}), ...(notValues ? { notValues } : {}) }];
    if (key === 'remote.ip' || key === 'source.ip') {
      if (key === 'source.ip') r.warn([...path, 'key'], "Istio compares the direct peer address; Tollgate compares the client address after its trusted-proxy rules (the same when no proxy is trusted)");
      if (values) this.#ips(r, values, [...path, 'values']);
      if (notValues) this.#ips(r, notValues, [...path, 'notValues']);
      return list('clientIps');
    }
    if (key === 'source.principal' || key === 'source.namespace') {
      return [...(values ? this.#peerIdentity(r, [...path, 'values'], false) : []), ...(notValues ? this.#peerIdentity(r, [...path, 'notValues'], true) : [])];
    }
    return this.#unsupported(r, [...path, 'key'], `condition key "${key}"`, deny);
  }

  /** True when a document applied (and so the Apis need policies). */
  get active(): boolean {
    return this.#applied.length > 0;
  }

  /**
   * Adds the API-level `jwt-auth` and `authorization` policies to every Api translated from a
   * VirtualService, an Ingress or an HTTPRoute. Security documents that apply while nothing in the set is
   * protected by them are refused: applied alone they would protect nothing.
   */
  attach(apis: ApiResource[]): void {
    if (!this.active) return;
    const targets = apis.filter((a) => /^(VirtualService|Ingress|HTTPRoute)\//.test(a.metadata.labels?.['tollgate.dev/source'] ?? ''));
    if (targets.length === 0) {
      for (const r of this.#applied) r.error(['kind'], 'no VirtualService, Ingress or HTTPRoute in this set is served by Tollgate: apply security policies together with the routes they protect (Tollgate attaches them to the routes translated in the same apply)', 'nothing_to_protect');
      return;
    }
    const policies: PolicyRef[] = [];
    if (this.#issuers.length > 0) {
      const token: Json = { headers: this.#headers, queryParams: [...this.#params], ...(this.#cookie !== undefined ? { cookie: this.#cookie } : {}) };
      policies.push({
        name: 'jwt-auth',
        enabled: true,
        config: { issuers: this.#issuers, token, optional: true, anonymous: true, requiredClaims: [], clockToleranceSec: ENVOY_CLOCK_SKEW_SEC },
      } as PolicyRef);
    }
    if (this.#deny.length > 0 || this.#allow !== undefined) {
      policies.push({ name: 'authorization', enabled: true, config: { deny: this.#deny, ...(this.#allow !== undefined ? { allow: this.#allow } : {}) } } as PolicyRef);
    }
    for (const api of targets) {
      const spec = api.spec as { policies?: PolicyRef[] };
      spec.policies = [...(spec.policies ?? []), ...structuredClone(policies)];
    }
  }
}

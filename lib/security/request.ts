import "server-only";

export interface ClientContext {
  userAgent: string | null;
  ip: string | null;
}

type HeaderSource = { get(name: string): string | null };

/**
 * User agent and client address of a request, trimmed to sane lengths.
 *
 * The address comes only from `x-sot-client-ip`, which the production server
 * (server.mjs) sets on every request from the socket — or, with
 * TRUSTED_PROXY_HOPS, from the trusted part of X-Forwarded-For — after
 * discarding any value the client sent. X-Forwarded-For itself is never read
 * here: a client can write anything into it. Without that server (`next dev`)
 * the address is unknown: null.
 */
export function clientContext(headers: HeaderSource): ClientContext {
  const userAgent = headers.get("user-agent")?.slice(0, 512) ?? null;
  const ip = headers.get("x-sot-client-ip")?.trim().slice(0, 64) || null;
  return { userAgent, ip };
}

/** True when the request reached us over https (directly or via a TLS-terminating proxy). */
export function isHttps(headers: HeaderSource): boolean {
  return headers.get("x-forwarded-proto")?.split(",")[0]?.trim() === "https";
}

/**
 * CSRF guard for state-changing requests: a browser says where a request comes
 * from (Sec-Fetch-Site, Origin); anything cross-site, and the opaque
 * `Origin: null`, is refused. A request that sends neither header passes only
 * when it carries no session cookie (`carriesSessionCookie`): an API client
 * with a Bearer token or a password has nothing a forged request could ride
 * on, while a cookie-authenticated request without them is not what any
 * current browser sends for a state change — so it is refused.
 */
export function isSameOriginRequest(request: Request, carriesSessionCookie = false): boolean {
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") return false;
  const origin = request.headers.get("origin");
  if (origin === null) return site === "same-origin" || site === "none" || (site === null && !carriesSessionCookie);
  if (origin === "null") return false;
  const host = request.headers.get("x-forwarded-host") ?? request.headers.get("host");
  try {
    return host !== null && new URL(origin).host === host;
  } catch {
    return false;
  }
}

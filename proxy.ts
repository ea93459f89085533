import { NextResponse, type NextRequest } from "next/server";
import { sessionCookieOptions } from "./lib/auth/cookies";
import { VERIFIED_TICKET_HEADER, issueTicket, refusesCrossSite, renewedCookie, resolveRequestSession } from "./lib/auth/request";
import { errorResponse } from "./lib/http/responses";
import { demoFrameOrigins } from "./lib/lab/demo-origins";
import { env } from "./lib/platform/env";
import { log } from "./lib/platform/log";
import { applySecurityHeaders, contentSecurityPolicy, newNonce } from "./lib/security/headers";
import { loginPath } from "./lib/security/redirect";
import { isHttps } from "./lib/security/request";
import { isUnknownServerAction } from "./lib/security/server-actions";
import { checkStoreReachable } from "./lib/sessions/store";
import { isAdmin } from "./lib/users/roles";

/** Pages that need a signed-in user (signed out: redirect to /login). */
const protectedPaths = [/^\/dashboard(\/|$)/, /^\/admin(\/|$)/];
/** Pages that also need the admin role (403 otherwise). */
const adminPaths = [/^\/admin(\/|$)/];
/** Pages about signing in or recovering an account: never cached either. */
const authPaths = [/^\/login$/, /^\/register$/, /^\/forgot-password$/, /^\/reset-password$/, /^\/verify-email$/];

/**
 * Runs on pages (and the server actions posted to them) only — see `config`:
 * Next.js spends about as much CPU on running a proxy at all as on a whole
 * bare route handler (README, Performance), so route handlers go without one;
 * they have their own checks (lib/auth/route.ts) and their static security
 * headers come from next.config.js. Here, in order:
 * - refuses cross-site state-changing requests (CSRF; `Origin: null` included;
 *   no Origin/Sec-Fetch-Site at all with a session cookie) — server actions
 *   also get Next.js's own Origin/Host check;
 * - on protected pages, verifies the session for real under the one
 *   credential rule (scope "browser") and the admin role where needed — every
 *   page and action checks again, so a mistake here cannot open a page — and
 *   leaves the page a ticket, so the second check costs no second verification;
 *   then makes sure the store the page will read answers;
 * - renews a browser JWT that is past half its life (sliding, within the absolute lifetime);
 * - sets a per-request CSP nonce (the reason every page needs the proxy) and no-store where private.
 * If the session store (or the database) cannot be reached it fails closed: 503, no content.
 */
export async function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  // The bench's measure of the proxy hop itself: /api/ping reaches the proxy
  // only with the probe header (see `config`), and gets nothing but a pass.
  if (pathname === "/api/ping") return NextResponse.next({ headers: { "x-sot-proxy": "probe" } });

  const https = isHttps(request.headers);
  const isProtected = protectedPaths.some((pattern) => pattern.test(pathname));
  const headerOptions = {
    https,
    production: env.NODE_ENV === "production",
    privateResponse: isProtected || authPaths.some((pattern) => pattern.test(pathname)),
  };
  const finish = (response: Response) => {
    applySecurityHeaders(response.headers, headerOptions);
    return response;
  };

  if (refusesCrossSite(request, request.cookies)) {
    log.warn("csrf.refused", { path: pathname, origin: request.headers.get("origin"), site: request.headers.get("sec-fetch-site") });
    return finish(errorResponse(403, "forbidden"));
  }

  // Next.js would log a request for an action this build does not have as an error with a stack trace.
  if (isUnknownServerAction(request.headers, headerOptions.production)) {
    log.warn("server_action.unknown", { path: pathname });
    return finish(errorResponse(404, "not_found"));
  }

  // The app never sees a client-sent ticket header: it is removed, or overwritten below.
  const forwarded = new Headers(request.headers);
  forwarded.delete(VERIFIED_TICKET_HEADER);
  let renewed: Awaited<ReturnType<typeof renewedCookie>> = null;

  if (isProtected) {
    let session;
    try {
      session = await resolveRequestSession("browser", { cookies: request.cookies, headers: forwarded });
      renewed = session && (await renewedCookie(session, https));
      // A signed-in page renders from the store (profile, role, audit trail, sessions), but a
      // credential may have been accepted without reading it (a JWT in stateless or pushed
      // mode). Asked here, where the answer can still be a 503: once the page renders, a
      // failed read can only become the error page with status 500 (the App Router lets a
      // page set no other status than those of notFound, forbidden, unauthorized and redirect).
      if (session) await checkStoreReachable();
    } catch (error) {
      log.error("proxy.session_store_unavailable", { path: pathname, error });
      return finish(unavailable());
    }
    if (!session) return finish(NextResponse.redirect(new URL(loginPath(`${pathname}${search}`), request.url), 307));
    // The role is read from the database, not from a JWT claim that may predate a demotion.
    if (adminPaths.some((pattern) => pattern.test(pathname)) && !(await isAdmin(session.user.id).catch(() => false))) {
      return finish(new Response("Forbidden", { status: 403, headers: { "Content-Type": "text/plain" } }));
    }
    forwarded.set(VERIFIED_TICKET_HEADER, issueTicket(session));
  }

  // The comparison lab frames the downstream service's demo pages (lib/lab/demo-origins.ts), and nothing
  // else frames anything. On every page, not just /compare: a link to the lab is a client-side navigation,
  // which keeps the policy of the page it started from.
  const csp = contentSecurityPolicy(newNonce(), env.NODE_ENV === "development", [new URL(env.DOWNSTREAM_URL).origin], demoFrameOrigins());
  forwarded.set("Content-Security-Policy", csp);
  const response = NextResponse.next({ request: { headers: forwarded } });
  response.headers.set("Content-Security-Policy", csp);
  if (renewed) response.cookies.set(renewed.name, renewed.value, sessionCookieOptions(https, renewed.expires));
  return finish(response);
}

/** The generic answer when the session store is down: no details, no protected content. */
function unavailable(): Response {
  return new Response("Service temporarily unavailable. Please try again shortly.", {
    status: 503,
    headers: { "Retry-After": "5", "Cache-Control": "no-store", "Content-Type": "text/plain; charset=utf-8" },
  });
}

export const config = {
  matcher: [
    // Pages (and server actions): everything but route handlers and static files.
    "/((?!api/|\\.well-known/|_next/static|_next/image|favicon\\.ico|icon\\.svg).*)",
    // Only for `npm run bench`: the same bare route with and without a proxy (see above).
    { source: "/api/ping", has: [{ type: "header", key: "x-sot-proxy-probe" }] },
  ],
};

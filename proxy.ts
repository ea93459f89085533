import { NextResponse, type NextRequest } from "next/server";
import { sessionCookieOptions } from "./lib/auth/cookies";
import { VERIFIED_TICKET_HEADER, issueTicket, resolveRequestSession, type RequestScope } from "./lib/auth/request";
import { errorResponse, unauthorizedResponse } from "./lib/http/responses";
import { env } from "./lib/platform/env";
import { log } from "./lib/platform/log";
import { applySecurityHeaders, contentSecurityPolicy, newNonce } from "./lib/security/headers";
import { loginPath } from "./lib/security/redirect";
import { isHttps, isSameOriginRequest } from "./lib/security/request";
import { cookieNameFor, strategyByKind } from "./lib/strategies";
import { isAdmin } from "./lib/users/roles";

/** Paths that need a signed-in user. Pages redirect to /login; APIs answer 401. */
const protectedPaths = [/^\/dashboard(\/|$)/, /^\/api\/me$/, /^\/admin(\/|$)/];
/** Paths that also need the admin role (403 otherwise). */
const adminPaths = [/^\/admin(\/|$)/];
/** Sign-in and token responses must never be cached either. */
const authPaths = [/^\/login$/, /^\/register$/, /^\/api\/auth\//, /^\/api\/token(\/|$)/];
const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Runs on every route (not on static assets). In order:
 * - refuses cross-site state-changing requests (CSRF; `Origin: null` included);
 * - on protected routes, verifies the session for real under the one
 *   credential rule (lib/auth/request.ts) and the admin role where needed —
 *   every page and route handler checks again, so a mistake here cannot open a route;
 * - renews a browser JWT that is past half its life (sliding, within the absolute lifetime);
 * - sets the security headers and a per-request CSP nonce.
 * If the session store cannot be reached it fails closed: 503, no content.
 */
export async function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  const https = isHttps(request.headers);
  const isProtected = protectedPaths.some((pattern) => pattern.test(pathname));
  const isPage = !pathname.startsWith("/api/") && !pathname.startsWith("/.well-known/");
  const scope: RequestScope = isPage ? "browser" : "api";
  const headerOptions = {
    https,
    production: env.NODE_ENV === "production",
    privateResponse: isProtected || authPaths.some((pattern) => pattern.test(pathname)),
  };
  const finish = (response: Response) => {
    applySecurityHeaders(response.headers, headerOptions);
    return response;
  };

  if (!safeMethods.has(request.method) && !isSameOriginRequest(request)) {
    log.warn("csrf.refused", { path: pathname, origin: request.headers.get("origin"), site: request.headers.get("sec-fetch-site") });
    return finish(errorResponse(403, "forbidden"));
  }

  // The app never sees a client-sent ticket header: it is removed, or overwritten below.
  const forwarded = new Headers(request.headers);
  forwarded.delete(VERIFIED_TICKET_HEADER);
  let renewedCookie: { name: string; value: string; expires: Date } | undefined;

  if (isProtected) {
    const source = { cookies: request.cookies, headers: forwarded };
    let session;
    try {
      session = await resolveRequestSession(scope, source);
      const strategy = session && strategyByKind(session.strategy);
      const name = strategy ? cookieNameFor(strategy, https) : null;
      const renewed = session && name && strategy?.renew ? await strategy.renew(session) : null;
      if (name && renewed) renewedCookie = { name, ...renewed };
    } catch (error) {
      log.error("proxy.session_store_unavailable", { path: pathname, error });
      return finish(unavailable(isPage));
    }
    if (!session) {
      return finish(
        isPage
          ? NextResponse.redirect(new URL(loginPath(`${pathname}${search}`), request.url), 307)
          : unauthorizedResponse({ tokenPresented: request.headers.has("authorization") }),
      );
    }
    // The role is read from the database, not from a JWT claim that may predate a demotion.
    if (adminPaths.some((pattern) => pattern.test(pathname)) && !(await isAdmin(session.user.id).catch(() => false))) {
      return finish(isPage ? new Response("Forbidden", { status: 403, headers: { "Content-Type": "text/plain" } }) : errorResponse(403, "forbidden"));
    }
    forwarded.set(VERIFIED_TICKET_HEADER, issueTicket(session));
  }

  let csp: string | undefined;
  if (isPage) {
    csp = contentSecurityPolicy(newNonce(), env.NODE_ENV === "development", [new URL(env.DOWNSTREAM_URL).origin]);
    forwarded.set("Content-Security-Policy", csp);
  }
  const response = NextResponse.next({ request: { headers: forwarded } });
  if (csp) response.headers.set("Content-Security-Policy", csp);
  if (renewedCookie) response.cookies.set(renewedCookie.name, renewedCookie.value, sessionCookieOptions(https, renewedCookie.expires));
  return finish(response);
}

/** The generic answer when the session store is down: no details, no protected content. */
function unavailable(isPage: boolean): Response {
  const headers = { "Retry-After": "5", "Cache-Control": "no-store" };
  return isPage
    ? new Response("Service temporarily unavailable. Please try again shortly.", {
        status: 503,
        headers: { ...headers, "Content-Type": "text/plain; charset=utf-8" },
      })
    : errorResponse(503, "unavailable", headers);
}

export const config = {
  matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"],
};

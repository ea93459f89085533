import { NextResponse, type NextRequest } from "next/server";
import { env } from "./lib/env";
import { applySecurityHeaders, contentSecurityPolicy, newNonce } from "./lib/headers";
import { errorResponse, unauthorizedResponse } from "./lib/http";
import { isAdmin } from "./lib/admin";
import { log } from "./lib/log";
import { isHttps, isSameOriginRequest } from "./lib/security";
import { VERIFIED_TICKET_HEADER, issueTicket, resolveRequestSession, sessionCookieOptions } from "./lib/session";
import { cookieNameFor, strategyByName } from "./lib/strategies";

/** Paths that need a signed-in user. Pages redirect to /login; APIs answer 401. */
const protectedPaths = [/^\/dashboard(\/|$)/, /^\/api\/me$/, /^\/admin(\/|$)/, /^\/api\/admin(\/|$)/];
/** Paths that also need the admin role (403 otherwise). */
const adminPaths = [/^\/admin(\/|$)/, /^\/api\/admin(\/|$)/];
/** Sign-in and token responses must never be cached either. */
const authPaths = [/^\/login$/, /^\/register$/, /^\/api\/auth\//, /^\/api\/token(\/|$)/];
const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Runs on every route (not on static assets). In order:
 * - refuses cross-site state-changing requests (CSRF; `Origin: null` included);
 * - on protected routes, verifies the session for real (signature and claims,
 *   or the database row) and the admin role where needed — every page and
 *   route handler checks again, so a mistake here cannot open a route;
 * - renews a JWT that is past half its life (sliding, within the absolute lifetime);
 * - sets the security headers and a per-request CSP nonce.
 * If the session store cannot be reached it fails closed: 503, no content.
 */
export async function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  const https = isHttps(request.headers);
  const isProtected = protectedPaths.some((pattern) => pattern.test(pathname));
  const isPage = !pathname.startsWith("/api/") && !pathname.startsWith("/.well-known/");
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
    // Pages are for browsers (cookies); APIs also take `Authorization: Bearer`.
    const authorization = isPage ? null : request.headers.get("authorization");
    let session;
    try {
      session = await resolveRequestSession(request.cookies, authorization, https);
      if (session && session.via === "cookie") {
        const strategy = strategyByName(session.strategy);
        const renewed = strategy?.renew ? await strategy.renew(session) : null;
        if (strategy && renewed) renewedCookie = { name: cookieNameFor(strategy, https), ...renewed };
      }
    } catch (error) {
      log.error("proxy.session_store_unavailable", { path: pathname, error });
      return finish(unavailable(isPage));
    }
    if (!session) {
      return finish(
        isPage ? redirectToLogin(request, `${pathname}${search}`) : unauthorizedResponse({ tokenPresented: authorization !== null }),
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

function redirectToLogin(request: NextRequest, path: string): Response {
  const login = new URL("/login", request.url);
  login.searchParams.set("callbackUrl", path);
  return NextResponse.redirect(login, 307);
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

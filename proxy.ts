import { NextResponse, type NextRequest } from "next/server";
import { env } from "./lib/env";
import { applySecurityHeaders, contentSecurityPolicy, newNonce } from "./lib/headers";
import { unauthorizedResponse } from "./lib/http";
import { isHttps } from "./lib/security";
import { VERIFIED_TICKET_HEADER, issueTicket, resolveRequestSession } from "./lib/session";

/** Paths that need a signed-in user. Pages redirect to /login; APIs answer 401. */
const protectedPaths = [/^\/dashboard(\/|$)/, /^\/api\/me$/];

/**
 * Runs on every route (not on static assets): sets the security headers and a
 * per-request CSP nonce, and is the first line of protection — signed-out
 * requests never reach protected routes. It verifies for real (signature and
 * claims, or the database row); every page and route handler checks again, so
 * a mistake here cannot open a route.
 */
export async function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  const https = isHttps(request.headers);
  const isProtected = protectedPaths.some((pattern) => pattern.test(pathname));
  const isPage = !pathname.startsWith("/api/") && !pathname.startsWith("/.well-known/");
  const headerOptions = { https, production: env.NODE_ENV === "production", privateResponse: isProtected };

  // The app never sees a client-sent ticket header: it is removed, or overwritten below.
  const forwarded = new Headers(request.headers);
  forwarded.delete(VERIFIED_TICKET_HEADER);

  if (isProtected) {
    // Pages are for browsers (cookies); APIs also take `Authorization: Bearer`.
    const authorization = isPage ? null : request.headers.get("authorization");
    const session = await resolveRequestSession(request.cookies, authorization, https);
    if (!session) {
      const denied = isPage
        ? redirectToLogin(request, `${pathname}${search}`)
        : unauthorizedResponse({ tokenPresented: authorization !== null });
      applySecurityHeaders(denied.headers, headerOptions);
      return denied;
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
  applySecurityHeaders(response.headers, headerOptions);
  return response;
}

function redirectToLogin(request: NextRequest, path: string): Response {
  const login = new URL("/login", request.url);
  login.searchParams.set("callbackUrl", path);
  return NextResponse.redirect(login, 307);
}

export const config = {
  matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"],
};

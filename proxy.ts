import { NextResponse, type NextRequest } from "next/server";
import { unauthorizedResponse } from "./lib/http";
import { isHttps } from "./lib/security";
import { VERIFIED_TICKET_HEADER, issueTicket, resolveSession } from "./lib/session";

/**
 * First line of protection: signed-out requests never reach protected routes.
 * It verifies for real (signature and claims, or the database row); every page
 * and route handler checks again, so a matcher mistake cannot open a route.
 */
export async function proxy(request: NextRequest) {
  const session = await resolveSession(request.cookies, isHttps(request.headers));
  if (session) {
    // Always overwritten, so a client-sent header of that name never reaches the app.
    const headers = new Headers(request.headers);
    headers.set(VERIFIED_TICKET_HEADER, issueTicket(session));
    return NextResponse.next({ request: { headers } });
  }

  const { pathname, search } = request.nextUrl;
  if (pathname.startsWith("/api/")) return unauthorizedResponse();

  const login = new URL("/login", request.url);
  login.searchParams.set("callbackUrl", `${pathname}${search}`);
  return NextResponse.redirect(login, 307);
}

export const config = {
  matcher: ["/dashboard", "/dashboard/:path*", "/api/me"],
};

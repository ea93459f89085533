import "server-only";
import { ResponseCookies } from "next/dist/server/web/spec-extension/cookies";
import { errorResponse, failClosed, unauthorizedResponse } from "../http/responses";
import { log } from "../platform/log";
import { isHttps } from "../security/request";
import { type Session } from "../strategies";
import { sessionCookieOptions } from "./cookies";
import { credentialSource, isStateChanging, presentedToken, refusesCrossSite, renewedCookie, resolveRequestSession } from "./request";

/**
 * The two wrappers every route handler under app/api and app/.well-known goes
 * through (tests/routes.test.ts enumerates the routes and fails on one that
 * does not). No proxy runs on these routes (see proxy.ts): what a route needs
 * is checked here, once.
 *
 * - `withSession(handler)`: a protected route. The one credential rule with
 *   scope "api-route" (a Bearer token, or a cookie when no Authorization header is
 *   sent), 401 with a Bearer challenge without a valid credential, the
 *   cross-site rule on state-changing methods, sliding renewal of a browser
 *   JWT, and fail-closed 503 when the session store cannot be reached.
 * - `publicRoute(handler, { sessionCookie, refusal })`: a route anyone may call. The
 *   cross-site rule on state-changing methods: a request a browser sends from
 *   another site gets 403; so does, where the route acts with the browser's
 *   session cookie (`sessionCookie: true`: sign-in replaces it, sign-out ends
 *   it), one that carries it without saying where it comes from. `refusal`
 *   words that 403 for a route that must explain it (anything but a 403 from
 *   it, or a failure, gives the plain one).
 */
export type RouteHandler = (request: Request) => Promise<Response>;

export interface RouteAccess {
  /** "session": withSession; "public": publicRoute. */
  kind: "session" | "public";
  /** Whether a session cookie without Origin/Sec-Fetch-Site is refused on state-changing methods. */
  sessionCookie: boolean;
}
const ACCESS = Symbol.for("session-or-token.route-access");
type MarkedHandler = RouteHandler & { [ACCESS]?: RouteAccess };

/** How a route handler was wrapped, or undefined if it was not: for the route test. */
export function routeAccess(handler: unknown): RouteAccess | undefined {
  return typeof handler === "function" ? (handler as MarkedHandler)[ACCESS] : undefined;
}

function mark(handler: RouteHandler, access: RouteAccess): RouteHandler {
  Object.defineProperty(handler, ACCESS, { value: Object.freeze(access) });
  return handler;
}

const forbidden = () => errorResponse(403, "forbidden");

export function withSession(handler: (request: Request, session: Session) => Promise<Response>): RouteHandler {
  return mark(
    failClosed(async (request: Request) => {
      const source = credentialSource(request);
      if (refusesCrossSite(request, source.cookies)) return forbidden();
      // No proxy runs on API routes, so there is no ticket to redeem: one full check.
      const session = await resolveRequestSession("api-route", source);
      if (!session) return unauthorizedResponse({ tokenPresented: presentedToken("api-route", source) });
      const response = await handler(request, session);
      const https = isHttps(request.headers);
      const renewed = await renewedCookie(session, https);
      return renewed ? withCookie(response, renewed.name, renewed.value, sessionCookieOptions(https, renewed.expires)) : response;
    }),
    { kind: "session", sessionCookie: true },
  );
}

export function publicRoute(
  handler: RouteHandler,
  { sessionCookie = false, refusal }: { sessionCookie?: boolean; refusal?: (request: Request) => Promise<Response> } = {},
): RouteHandler {
  return mark(
    async (request: Request) => {
      if (isStateChanging(request.method) && refusesCrossSite(request, sessionCookie ? credentialSource(request).cookies : null)) {
        log.warn("csrf.refused", { path: new URL(request.url).pathname, origin: request.headers.get("origin"), site: request.headers.get("sec-fetch-site") });
        // A route may word its own refusal (the lab's CSRF demo says which defence refused), but it stays a 403.
        const worded = refusal ? await refusal(request).catch(() => null) : null;
        return worded?.status === 403 ? worded : forbidden();
      }
      return handler(request);
    },
    { kind: "public", sessionCookie },
  );
}

/**
 * The browser session behind a request's cookies (scope "browser": an
 * Authorization header is not looked at), for the one public route that acts
 * for a signed-in browser (POST /api/token's session exchange).
 */
export function browserSessionOf(request: Request): Promise<Session | null> {
  return resolveRequestSession("browser", credentialSource(request));
}

function withCookie(response: Response, name: string, value: string, options: ReturnType<typeof sessionCookieOptions>): Response {
  let target = response;
  try {
    new ResponseCookies(target.headers).set(name, value, options);
  } catch {
    // Immutable headers (a response passed through from fetch): copy it first.
    target = new Response(response.body, response);
    new ResponseCookies(target.headers).set(name, value, options);
  }
  return target;
}

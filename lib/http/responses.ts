import "server-only";
import { log } from "../platform/log";

const noStore = { "Cache-Control": "no-store" };

/**
 * 401 for APIs: a JSON body and the auth scheme the client should use; when
 * the request did present a token, RFC 6750's `invalid_token`.
 */
export function unauthorizedResponse(options: { tokenPresented?: boolean } = {}): Response {
  const challenge = options.tokenPresented ? 'Bearer realm="session-or-token", error="invalid_token"' : 'Bearer realm="session-or-token"';
  return Response.json({ error: "unauthorized" }, { status: 401, headers: { ...noStore, "WWW-Authenticate": challenge } });
}

/** JSON that must never be cached by a browser or a shared cache. */
export function privateJson(body: unknown, init: ResponseInit = {}): Response {
  return Response.json(body, { ...init, headers: { ...noStore, ...init.headers } });
}

/** 4xx with a generic, OAuth-style error code (RFC 6749 §5.2 names). */
export function errorResponse(status: number, error: string, extraHeaders: Record<string, string> = {}): Response {
  return Response.json({ error }, { status, headers: { ...noStore, ...extraHeaders } });
}

/**
 * Wraps a route handler so nothing it throws reaches the client: the details
 * go to the log, the client gets 503 (the data layer is most likely down; try
 * again) with a generic body. Fail closed: no partial or protected content.
 */
export function failClosed<Args extends unknown[]>(handler: (...args: Args) => Promise<Response>): (...args: Args) => Promise<Response> {
  return async (...args) => {
    try {
      return await handler(...args);
    } catch (error) {
      log.error("route.failed", { error });
      return errorResponse(503, "unavailable", { "Retry-After": "5" });
    }
  };
}

import "server-only";

const noStore = { "Cache-Control": "no-store" };

/** 401 for APIs: a JSON body and the auth scheme the client should use. */
export function unauthorizedResponse(): Response {
  return Response.json(
    { error: "unauthorized" },
    { status: 401, headers: { ...noStore, "WWW-Authenticate": 'Bearer realm="session-or-token"' } },
  );
}

/** JSON that must never be cached by a browser or a shared cache. */
export function privateJson(body: unknown, init: ResponseInit = {}): Response {
  return Response.json(body, { ...init, headers: { ...noStore, ...init.headers } });
}

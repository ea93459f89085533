import { resolveRequestSession } from "../../lib/auth/request";

/** A request's cookie jar and headers, as the credential rule reads them. */
export function requestSource(headers: Record<string, string> = {}, cookies: Record<string, string> = {}) {
  return {
    headers: new Headers(headers),
    cookies: { get: (name: string) => (name in cookies ? { value: cookies[name]! } : undefined) },
  };
}

/** The session an API request with this Authorization header proves, under the app's one rule. */
export function resolveBearer(authorization: string) {
  return resolveRequestSession("api-route", requestSource({ authorization }));
}

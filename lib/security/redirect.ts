/**
 * Where a browser may be sent after signing in (ASVS 5.0 V3.7.2, CWE-601).
 *
 * Every redirect that takes a caller-supplied target (the sign-in form's
 * field, `?callbackUrl=`, Auth.js's callback-url cookie and its redirect
 * callback) goes through `safeRedirectPath`. The decision is made on what the
 * URL parser makes of the value, never on the raw string: dot segments
 * (`/./`, `%2e`), doubled slashes and backslashes can turn a same-origin path
 * into `//other.host` once normalised, and it is the normalised value a
 * browser follows.
 */

/** Where to go after sign-in when no safe target was given. */
export const DEFAULT_AFTER_SIGN_IN = "/dashboard";

/** The sign-in page, asked to come back to `path` afterwards (the proxy's redirect and every page guard's). */
export function loginPath(path: string): string {
  return `/login?callbackUrl=${encodeURIComponent(path)}`;
}

const MAX_TARGET_LENGTH = 2048;
/** Browsers drop tabs and newlines inside URLs and read `\` as `/`: refuse them outright. */
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f\\]/;
/** A path whose start another parser could read as a host: `//host`, `/\host`, in any encoding. */
const HOST_LIKE_START = /^\/[/\\]/;
const PARSE_BASE = "http://origin.invalid";

function decodedOrNull(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/**
 * The normalised same-origin path (with query and fragment) the candidate
 * names, or `fallback`. Accepted only if the parsed URL is on this origin, has
 * no userinfo, its path cannot be read as another host — raw or decoded — and
 * parsing it again changes nothing (so no later step normalises it further).
 */
export function safeRedirectPath(candidate: unknown, fallback = DEFAULT_AFTER_SIGN_IN): string {
  if (typeof candidate !== "string" || candidate.length === 0 || candidate.length > MAX_TARGET_LENGTH) return fallback;
  if (!candidate.startsWith("/") || UNSAFE_CHARACTERS.test(candidate)) return fallback;
  const normalised = normalise(candidate);
  if (normalised === null || normalise(normalised) !== normalised) return fallback;
  return normalised;
}

function normalise(candidate: string): string | null {
  let url: URL;
  try {
    url = new URL(candidate, PARSE_BASE);
  } catch {
    return null;
  }
  if (url.origin !== PARSE_BASE || url.username !== "" || url.password !== "") return null;
  const path = `${url.pathname}${url.search}${url.hash}`;
  if (!path.startsWith("/") || HOST_LIKE_START.test(path)) return null;
  const decodedPath = decodedOrNull(url.pathname);
  if (decodedPath === null || HOST_LIKE_START.test(decodedPath) || UNSAFE_CHARACTERS.test(decodedPath)) return null;
  return path;
}

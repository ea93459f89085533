import "server-only";
import { env } from "../platform/env";
import { isLoopbackHost } from "../platform/loopback";

/**
 * Where the lab's other-origin experiments go: the downstream service
 * (DOWNSTREAM_URL) and the pages it hosts for the browser demos. A browser
 * counts 127.0.0.1:A and 127.0.0.1:B as one site (ports do not count) but
 * localhost and 127.0.0.1 as two, so the service is framed under both names:
 * the one the visitor's page uses is same-site (its cookies are first-party in
 * the frame), the other is cross-site (SameSite keeps cookies from it).
 */

const LOOPBACK_NAMES: Record<string, string> = { localhost: "127.0.0.1", "127.0.0.1": "localhost" };

/** The downstream service's origin as configured (the CSP's connect-src has it too). */
export function downstreamOrigin(): string {
  return new URL(env.DOWNSTREAM_URL).origin;
}

let frameOrigins: readonly string[] | null = null;

/** The downstream origin and, for a loopback name, the same service under the other name (computed once: the proxy asks on every page). */
export function demoFrameOrigins(): readonly string[] {
  if (frameOrigins) return frameOrigins;
  const url = new URL(env.DOWNSTREAM_URL);
  const twin = LOOPBACK_NAMES[url.hostname];
  const other = new URL(url.origin);
  if (twin) other.hostname = twin;
  frameOrigins = Object.freeze(twin ? [url.origin, other.origin] : [url.origin]);
  return frameOrigins;
}

/**
 * The downstream service as the lab may reach it from this process: only an
 * http origin on loopback (127.x, [::1], or localhost, sent to 127.0.0.1), so
 * a configuration can never point the lab's requests at another host.
 */
export function downstreamLoopbackTarget(raw: string = env.DOWNSTREAM_URL): URL | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" || url.username !== "" || url.password !== "") return null;
  const host = url.hostname === "localhost" ? "127.0.0.1" : url.hostname;
  if (!isLoopbackHost(host)) return null;
  const target = new URL(`http://${host}:${url.port || "80"}/`);
  return target;
}

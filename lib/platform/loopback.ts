/**
 * Addresses on this machine, the one check every "loopback only" rule uses:
 * the lab's own origin, the cluster's instance list, the downstream service it
 * calls, and an http:// identity provider. No "server-only": env.ts, which
 * validates with it, is read by the proxy too.
 */

const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** 127.x.x.x or [::1] as URL.hostname writes them; with `localhost: true` also the name localhost. */
export function isLoopbackHost(hostname: string, { localhost = false }: { localhost?: boolean } = {}): boolean {
  return IPV4_LOOPBACK.test(hostname) || hostname === "[::1]" || (localhost && hostname === "localhost");
}

/** `http://127.x.x.x:port` or `http://[::1]:port`, nothing more: an origin on this machine, as an address. */
export function isLoopbackOrigin(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return (
    url.protocol === "http:" &&
    isLoopbackHost(url.hostname) &&
    url.port !== "" &&
    url.pathname === "/" &&
    url.search === "" &&
    url.hash === "" &&
    url.username === "" &&
    url.password === ""
  );
}

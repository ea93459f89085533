import "server-only";

/**
 * Response headers of pages, set by the proxy (proxy.ts). The CSP carries a
 * fresh nonce per page request; Next.js reads it from the request's CSP header
 * and puts it on the scripts it renders, so nothing else may run. The headers
 * that never vary come from next.config.js for every route (route handlers
 * have no proxy); applySecurityHeaders sets the same ones on the proxy's own
 * answers (redirects, 403, 503) and no-store on private pages.
 */
export function contentSecurityPolicy(nonce: string, development: boolean, connectOrigins: readonly string[] = [], frameOrigins: readonly string[] = []): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    ["connect-src 'self'", ...connectOrigins].join(" "),
    // Frames only where a page needs them (the comparison lab's demo frames), from exactly those origins.
    ...(frameOrigins.length > 0 ? [`frame-src ${frameOrigins.join(" ")}`] : []),
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export function newNonce(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
}

export function applySecurityHeaders(headers: Headers, options: { https: boolean; production: boolean; privateResponse: boolean }): void {
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("Referrer-Policy", "strict-origin-when-cross-origin");
  headers.set("X-Frame-Options", "DENY");
  // HSTS only where it can mean something: production, over https.
  if (options.production && options.https) headers.set("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
  if (options.privateResponse) headers.set("Cache-Control", "no-store");
}

// @ts-check

/**
 * Response headers that do not vary per request, for every route — route
 * handlers included, which no proxy runs on (proxy.ts: only pages, for their
 * per-request CSP nonce). Next.js adds them while routing, at no measurable
 * cost. lib/security/headers.ts sets the same ones on the proxy's own answers.
 */
const securityHeaders = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  { key: "X-Frame-Options", value: "DENY" },
];
/** HSTS only where it can mean something: production, over https (directly or behind a TLS-terminating proxy). */
const hsts = { key: "Strict-Transport-Security", value: "max-age=63072000; includeSubDomains" };
const noStore = { key: "Cache-Control", value: "no-store" };

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // forbidden() from next/navigation: a real 403 from pages and actions.
  experimental: { authInterrupts: true },
  // Native modules and the Prisma runtime are loaded from node_modules at run time,
  // not bundled: they ship binaries and wasm that a bundler cannot inline. ioredis
  // too: one copy for the proxy, the route handlers and instrumentation, as Node loads it.
  serverExternalPackages: ["@node-rs/argon2", "better-sqlite3", "@prisma/client", "@prisma/adapter-better-sqlite3", "@prisma/adapter-pg", "pg", "ioredis"],
  async headers() {
    return [
      { source: "/:path*", headers: securityHeaders },
      ...(process.env.NODE_ENV === "production"
        ? [{ source: "/:path*", has: [{ type: /** @type {const} */ ("header"), key: "x-forwarded-proto", value: "\\s*https\\s*(?:,.*)?" }], headers: [hsts] }]
        : []),
      // Sign-in and token answers are never cached (their handlers say so too; Auth.js's do not all).
      { source: "/api/auth/:path*", headers: [noStore] },
      { source: "/api/token/:path*", headers: [noStore] },
      { source: "/api/token", headers: [noStore] },
    ];
  },
};

module.exports = nextConfig;

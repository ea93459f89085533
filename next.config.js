// @ts-check

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // forbidden() from next/navigation: a real 403 from pages and actions.
  experimental: { authInterrupts: true },
  // Native modules and the Prisma runtime are loaded from node_modules at run time,
  // not bundled: they ship binaries and wasm that a bundler cannot inline.
  serverExternalPackages: ["@node-rs/argon2", "better-sqlite3", "@prisma/client", "@prisma/adapter-better-sqlite3", "@prisma/adapter-pg", "pg"],
};

module.exports = nextConfig;

#!/usr/bin/env node
// Keeps package-lock.json complete for every platform.
//
// npm records each platform-specific optional package (native builds such as
// @next/swc-darwin-arm64) in the lockfile, so `npm ci` can check the lockfile
// against package.json on any OS. When the registry an install ran against does
// not serve some of those builds, npm leaves them out, and `npm ci` then refuses
// the lockfile everywhere. This adds the missing entries back, marked optional
// with their os/cpu/libc, exactly as npm writes them: npm skips them on other
// platforms and fetches them on theirs. Run it after `npm install`.
import { readFileSync, writeFileSync } from "node:fs";

const LOCK = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, "utf8"));

/** os / cpu / libc from a native package's platform suffix, e.g. "linux-arm-gnueabihf". */
function platformOf(name) {
  const match = /-(android|darwin|freebsd|linux|openharmony|win32)-(arm64|arm|x64|ia32|loong64|ppc64|riscv64|s390x)(?:-(gnu|gnueabihf|musl|musleabihf|msvc|eabi))?$/.exec(name);
  if (!match) return undefined;
  const [, os, cpu, abi] = match;
  const entry = { cpu: [cpu], os: [os] };
  if (os === "linux" && abi?.startsWith("gnu")) entry.libc = ["glibc"];
  if (os === "linux" && abi?.startsWith("musl")) entry.libc = ["musl"];
  return entry;
}

let added = 0;
for (const [path, info] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(info.optionalDependencies ?? {})) {
    const platform = platformOf(name);
    if (!platform || !/^\d+\.\d+\.\d+/.test(version)) continue;
    const nested = `${path ? `${path}/` : ""}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (lock.packages[nested] || lock.packages[hoisted]) continue;
    lock.packages[hoisted] = { version, ...platform, optional: true };
    added += 1;
  }
}

const [root, ...rest] = Object.entries(lock.packages);
lock.packages = Object.fromEntries([root, ...rest.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
writeFileSync(LOCK, JSON.stringify(lock, null, 2) + "\n");
console.log(`lockfile: added ${added} platform package entr${added === 1 ? "y" : "ies"}`);

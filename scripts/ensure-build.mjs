// `npm start` serves a production build; make one when there is none, or when
// the sources are newer than it (a fresh clone, or a pull since the last build).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const buildId = ".next/BUILD_ID";
const sources = ["app", "lib", "proxy.ts", "instrumentation.ts", "next.config.js", "package-lock.json"];
const skip = new Set(["generated", "node_modules"]);

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (!skip.has(entry)) newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

const builtAt = existsSync(buildId) ? statSync(buildId).mtimeMs : 0;
const changedAt = Math.max(...sources.map(newestMtime));
if (builtAt > changedAt) {
  console.log("build: up to date");
} else {
  console.log(builtAt ? "build: sources changed, rebuilding" : "build: no production build yet, building");
  const result = spawnSync("npx", ["next", "build"], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}

/**
 * Route handlers run in Next.js's react-server layer, where `next/navigation`
 * is its server build (redirect, notFound, …, no client hooks). Plain Node
 * with `--conditions=react-server` would load the client build, which needs
 * React's client API and fails to load. Importing this first gives modules
 * that import `next/navigation` (next-auth does) what Next.js gives them.
 */
import Module from "node:module";

const serverNavigation = require.resolve("next/dist/client/components/navigation.react-server");
type Resolve = (request: string, ...rest: unknown[]) => string;
const moduleWithResolver = Module as unknown as { _resolveFilename: Resolve };
const resolve = moduleWithResolver._resolveFilename;
moduleWithResolver._resolveFilename = function (request: string, ...rest: unknown[]) {
  return resolve.call(this, request === "next/navigation" ? serverNavigation : request, ...rest);
};

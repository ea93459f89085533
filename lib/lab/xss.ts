import "server-only";
import { sessionCookieOptions } from "../auth/cookies";
import { env } from "../platform/env";
import { downstreamLoopbackTarget } from "./demo-origins";
import { send } from "./loopback";
import type { ClaimResult, Experiment, LabRun } from "./types";

/**
 * "A JWT in localStorage is exposed to XSS." What the server side can say:
 * where this app keeps each credential (cookie attributes, from the same
 * options every session cookie is set with), and how the demo page that the
 * visitor's browser runs next is served by the downstream service (its cookie
 * HttpOnly, framable by this app alone, refused outside a frame). The attack
 * itself runs in the visitor's browser (app/compare/demo-frame.tsx).
 */

export interface XssServerFigures {
  /** The session cookies' HttpOnly attribute as this server sets it (both browser strategies share it). */
  sessionCookieHttpOnly: boolean;
  sameSite: string;
  demo: {
    reachable: boolean;
    framedStatus: number | null;
    topLevelStatus: number | null;
    cookieHttpOnly: boolean;
    frameAncestors: string | null;
  };
}

export const xssExperiment = {
  id: "xss",
  title: "XSS and localStorage",
  summary: "A JWT in localStorage is exposed to XSS.",

  async run(lab: LabRun): Promise<ClaimResult[]> {
    const options = sessionCookieOptions(lab.https, new Date());
    const figures: XssServerFigures = {
      sessionCookieHttpOnly: options.httpOnly,
      sameSite: options.sameSite,
      demo: { reachable: false, framedStatus: null, topLevelStatus: null, cookieHttpOnly: false, frameAncestors: null },
    };
    const target = downstreamLoopbackTarget();
    if (target) {
      lab.progress("Fetching the demo page from the downstream service as a frame would, and as a top-level visit");
      const [framed, topLevel] = await Promise.all([
        send(target, "/demo/xss", { headers: { "sec-fetch-dest": "iframe" } }),
        send(target, "/demo/xss", { headers: { "sec-fetch-dest": "document" } }),
      ]);
      const setCookie = framed.headers["set-cookie"]?.join("\n") ?? "";
      const csp = framed.headers["content-security-policy"];
      figures.demo = {
        reachable: framed.status !== null,
        framedStatus: framed.status,
        topLevelStatus: topLevel.status,
        cookieHttpOnly: /;\s*HttpOnly/i.test(setCookie),
        frameAncestors: typeof csp === "string" ? (/frame-ancestors ([^;]+)/.exec(csp)?.[1]?.trim() ?? null) : null,
      };
    }
    return [xssServerClaim(figures)];
  },
} satisfies Experiment<"xss">;

export function xssServerVerdict(figures: XssServerFigures, appOrigin: string): { verdict: string; caveat: string } {
  const where = figures.sessionCookieHttpOnly
    ? `This server keeps both the database session and the browser JWT in HttpOnly cookies (SameSite=${figures.sameSite}): no script on its pages can read either`
    : "This server's session cookies are NOT HttpOnly: a script on its pages can read them";
  const demoReady =
    figures.demo.framedStatus === 200 && figures.demo.topLevelStatus === 403 && figures.demo.cookieHttpOnly && figures.demo.frameAncestors === appOrigin;
  const demo = demoReady
    ? `the demo page below (another origin, a made-up token in localStorage and a made-up session in an HttpOnly cookie) is framable by ${appOrigin} alone and refused outside a frame`
    : figures.demo.reachable
      ? `the demo page was not served as expected (framed ${figures.demo.framedStatus ?? "no answer"}, top-level ${figures.demo.topLevelStatus ?? "no answer"}, frame-ancestors ${figures.demo.frameAncestors ?? "none"})`
      : "the demo page's service could not be reached from here";
  return {
    verdict: `${where}; the claim is about where a token is kept, not about its format — ${demo}.`,
    caveat: "What an injected script can and cannot do is measured in your browser, in the demo below.",
  };
}

export function xssServerClaim(figures: XssServerFigures, appOrigin: string = env.APP_URL): ClaimResult {
  const { verdict, caveat } = xssServerVerdict(figures, appOrigin);
  const httpOnly = figures.sessionCookieHttpOnly ? "HttpOnly cookie" : "cookie readable by script";
  return {
    id: "xss-server",
    claim: "A JWT in localStorage is exposed to XSS — where this server keeps its credentials.",
    measured: "The attributes this server sets on its session cookies, and the demo page's headers as the downstream service serves it (over loopback).",
    columns: [
      { key: "session", tone: "session", heading: "Database session", figure: httpOnly, detail: `SameSite=${figures.sameSite}, Path=/` },
      { key: "token", tone: "token", heading: "Browser JWT (this app)", figure: httpOnly, detail: `SameSite=${figures.sameSite}, Path=/ — not localStorage` },
    ],
    charts: [],
    tables: [
      {
        caption: "The demo page as served",
        columns: ["Request", "Answer"],
        rows: [
          { key: "demo-framed", cells: ["As a frame (Sec-Fetch-Dest: iframe)", String(figures.demo.framedStatus ?? "no answer")] },
          { key: "demo-top-level", cells: ["As a top-level page", String(figures.demo.topLevelStatus ?? "no answer")] },
          { key: "demo-cookie", cells: ["Its demo cookie", figures.demo.cookieHttpOnly ? "HttpOnly" : "not HttpOnly"] },
          { key: "demo-ancestors", cells: ["frame-ancestors", figures.demo.frameAncestors ?? "none"] },
        ],
      },
    ],
    verdict,
    caveat,
  };
}

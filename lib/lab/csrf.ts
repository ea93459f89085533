import "server-only";
import { sessionCookieOptions } from "../auth/cookies";
import { CSRF_DEMO_HEADER, parseDemoVerdict } from "./browser-demos";
import { DEMO_COOKIE_NAME, issueDemoCredentials, type TransferVerdict } from "./csrf-demo";
import { demoFrameOrigins } from "./demo-origins";
import { send, type Answer } from "./loopback";
import type { ClaimResult, Experiment, LabRun } from "./types";

/**
 * "Cookies are vulnerable to CSRF." The demo endpoint (a made-up transfer,
 * lib/lab/csrf-demo.ts) asked over loopback exactly as a browser would ask it
 * in each case: from this app's page (the control), from a page on another
 * origin of the same site (the browser attaches the SameSite=Lax cookie; the
 * origin check must refuse), from a cross-site page (SameSite keeps the cookie
 * home), and with a Bearer token, which no other page can attach. Each answer
 * names the defence that decided. The page then repeats the forged requests
 * for real in the visitor's browser (app/compare/demo-frame.tsx).
 */

export interface CsrfCase {
  key: string;
  label: string;
  side: "session" | "token";
  /** What a browser would send in this case. */
  sends: string;
  status: number | null;
  verdict: TransferVerdict | null;
}

function parseVerdict(answer: Answer): TransferVerdict | null {
  const header = answer.headers[CSRF_DEMO_HEADER.toLowerCase()];
  return parseDemoVerdict(Array.isArray(header) ? header[0] : header);
}

export const csrfExperiment = {
  id: "csrf",
  title: "Cross-site request forgery",
  summary: "Cookies are vulnerable to CSRF.",

  async run(lab: LabRun): Promise<ClaimResult[]> {
    lab.progress("Issuing a demo cookie (the session cookie's attributes, the demo endpoint's path) and a demo Bearer token");
    const { cookie, bearer } = await issueDemoCredentials(false);
    const withCookie = { cookie: `${cookie.name}=${cookie.value}` };
    const app = lab.origin.origin;
    // Another origin on the same site (another port) and another site (the other loopback name).
    const [downstream, twin] = demoFrameOrigins();
    const sameSite = new URL(app);
    sameSite.port = String(Number(sameSite.port) === 65535 ? 65534 : Number(sameSite.port) + 1);
    const crossSite = twin ?? downstream ?? "https://other-site.example";
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const cases: Omit<CsrfCase, "status" | "verdict">[] = [
      { key: "cookie-same-origin", label: "Cookie — from this app's page", side: "session", sends: `cookie, Origin ${app}, Sec-Fetch-Site same-origin` },
      { key: "cookie-same-site", label: "Cookie — forged on another origin of the same site", side: "session", sends: `cookie (SameSite=Lax lets it through within a site), Origin ${sameSite.origin}, Sec-Fetch-Site same-site` },
      { key: "cookie-cross-site", label: "Cookie — forged on another site", side: "session", sends: `no cookie (SameSite=Lax keeps it home), Origin ${crossSite}, Sec-Fetch-Site cross-site` },
      { key: "cookie-no-origin", label: "Cookie — without saying where it comes from", side: "session", sends: "cookie, neither Origin nor Sec-Fetch-Site" },
      { key: "bearer-same-origin", label: "Bearer — from this app's page", side: "token", sends: `Authorization: Bearer, Origin ${app}, Sec-Fetch-Site same-origin` },
      { key: "bearer-forged", label: "Bearer — forged (no page can attach it)", side: "token", sends: "no Authorization header: the browser attaches cookies, never a Bearer token" },
    ];
    const headersFor: Record<string, Record<string, string>> = {
      "cookie-same-origin": { ...withCookie, origin: app, "sec-fetch-site": "same-origin" },
      "cookie-same-site": { ...withCookie, origin: sameSite.origin, "sec-fetch-site": "same-site" },
      "cookie-cross-site": { origin: crossSite, "sec-fetch-site": "cross-site" },
      "cookie-no-origin": { ...withCookie },
      "bearer-same-origin": { authorization: `Bearer ${bearer}`, origin: app, "sec-fetch-site": "same-origin" },
      "bearer-forged": {},
    };
    lab.progress("Posting the demo transfer in each case and reading which defence decided");
    const results: CsrfCase[] = [];
    for (const item of cases) {
      const answer = await send(lab.origin, "/api/compare/csrf-demo/transfer", { method: "POST", headers: { ...form, ...headersFor[item.key] }, body: "amount=100&to=attacker" });
      results.push({ ...item, status: answer.status, verdict: parseVerdict(answer) });
    }
    return [csrfClaim(results)];
  },
} satisfies Experiment<"csrf">;

const sameSiteAttribute = () => sessionCookieOptions(false, new Date()).sameSite;

export function decidedBy(item: CsrfCase): string {
  if (!item.verdict) return `no verdict (${item.status ?? "no answer"})`;
  if (item.verdict.outcome === "accepted") return `accepted (${item.status})`;
  return item.verdict.refusedBy === "origin-check" ? `refused by the origin check (${item.status})` : `refused: no valid credential attached (${item.status})`;
}

export function csrfVerdict(cases: CsrfCase[]): { verdict: string; caveat: string } {
  const byKey = new Map(cases.map((item) => [item.key, item]));
  const is = (key: string, outcome: "accepted" | "refused", refusedBy?: TransferVerdict["refusedBy"]) => {
    const verdict = byKey.get(key)?.verdict;
    return verdict?.outcome === outcome && (refusedBy === undefined || verdict.refusedBy === refusedBy);
  };
  if (!is("cookie-same-origin", "accepted") || !is("bearer-same-origin", "accepted")) {
    return {
      verdict: "Inconclusive: the demo endpoint refused its own page's request (the control), so the refusals say nothing.",
      caveat: "The server log says why the control was refused.",
    };
  }
  const originCheck = is("cookie-same-site", "refused", "origin-check") && is("cookie-no-origin", "refused", "origin-check");
  const crossSite = byKey.get("cookie-cross-site")?.verdict;
  const sameSiteHeld = crossSite?.cookie === "absent";
  const bearerSafe = is("bearer-forged", "refused", "credential");
  if (originCheck && crossSite?.outcome === "refused" && bearerSafe) {
    return {
      verdict: `Not on this server: a forged request from another origin that carried the cookie was refused by the origin check (${byKey.get("cookie-same-site")?.status}); from another site the browser does not even attach it (SameSite=${sameSiteAttribute()})${sameSiteHeld ? "" : " — here it was attached, and the origin check refused it"}; and a Bearer token needs neither: the forged request arrives without it and is refused for want of a credential (${byKey.get("bearer-forged")?.status}).`,
      caveat: "Cookies are exposed to CSRF by nature — these defences are what closes it. A same-site subdomain or sibling port you do not control gets the cookie attached, so the origin check carries the weight there; and SameSite=Lax still sends the cookie on top-level GET navigations, so GET must never change state.",
    };
  }
  return {
    verdict: `True here: a forged request was not refused as it should be — ${cases.map((item) => `${item.label}: ${decidedBy(item)}`).join("; ")}.`,
    caveat: "Check that the route uses publicRoute or withSession (the cross-site rule) and that the cookie keeps SameSite.",
  };
}

export function csrfClaim(cases: CsrfCase[]): ClaimResult {
  const { verdict, caveat } = csrfVerdict(cases);
  const side = (name: "session" | "token") => cases.filter((item) => item.side === name);
  const refusedForged = (list: CsrfCase[]) => list.filter((item) => !item.key.endsWith("same-origin") && item.verdict?.outcome === "refused").length;
  const forged = (list: CsrfCase[]) => list.filter((item) => !item.key.endsWith("same-origin")).length;
  return {
    id: "csrf",
    claim: "Cookies are vulnerable to CSRF.",
    measured: `A demo transfer endpoint (demo cookie ${DEMO_COOKIE_NAME} with the session cookie's attributes: HttpOnly, SameSite=${sameSiteAttribute()}) posted to over loopback as a browser would from this app, from another origin of the same site, from another site, and with a Bearer token; each answer names the defence that decided.`,
    columns: [
      {
        key: "session",
        tone: "session",
        heading: "Database session (cookie)",
        figure: `${refusedForged(side("session"))} of ${forged(side("session"))} forged requests refused`,
        detail: side("session").map((item) => `${item.label}: ${decidedBy(item)}`).join(". "),
      },
      {
        key: "token",
        tone: "token",
        heading: "JWT (Bearer token)",
        figure: `${refusedForged(side("token"))} of ${forged(side("token"))} forged requests refused`,
        detail: side("token").map((item) => `${item.label}: ${decidedBy(item)}`).join(". "),
      },
    ],
    charts: [
      {
        title: "Accepted (1) or refused (0), per request",
        unit: "accepted",
        bars: cases.map((item) => ({
          key: item.key,
          label: item.label,
          value: item.verdict?.outcome === "accepted" ? 1 : 0,
          display: decidedBy(item),
          tone: item.side,
        })),
      },
    ],
    tables: [
      {
        caption: "The demo transfer, asked as a browser would ask it",
        columns: ["Request", "What it carries", "Cookie seen", "Origin check", "Answer"],
        rows: cases.map((item) => ({
          key: item.key,
          cells: [item.label, item.sends, item.verdict?.cookie ?? "?", item.verdict?.originCheck ?? "?", decidedBy(item)],
        })),
      },
    ],
    verdict,
    caveat,
  };
}

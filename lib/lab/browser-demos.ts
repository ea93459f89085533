import type { ClaimResult } from "./types";

/**
 * The lab's browser demos (app/compare/demo-frame.tsx): the frames on the
 * downstream service's origin report what happened in the visitor's browser,
 * and the claims are built here from those reports. No server-only code: the
 * page runs it. Pure functions (tests/lab-xss.test.ts, tests/lab-csrf.test.ts).
 */

/** The demo page's names (examples/downstream/service.mjs). */
export const DEMO_COOKIE = "demo_session";
export const DEMO_STORAGE_KEY = "demo_access_token";

export interface XssReport {
  type: "sot-demo-xss";
  /** What the injected script read from localStorage (the demo token), or null. */
  token: string | null;
  /** document.cookie as the injected script saw it. */
  cookies: string;
  /** The injected script's credentialed request to the demo page's own account endpoint. */
  used: { status: number; authorizedBy: string | null };
}

export interface CsrfAnswer {
  outcome: "accepted" | "refused";
  /** Which defence refused: the origin check (isSameOriginRequest), or the credential check (nothing valid attached). */
  refusedBy: "origin-check" | "credential" | null;
  cookie: "valid" | "invalid" | "absent";
  authorization: "valid" | "invalid" | "absent";
  originCheck: "passed" | "refused";
}

export interface CsrfReport {
  type: "sot-demo-csrf";
  pageOrigin: string;
  status: number;
  answer: CsrfAnswer | null;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const oneOf = <T extends string>(value: unknown, options: readonly T[]): value is T => typeof value === "string" && (options as readonly string[]).includes(value);

export function parseXssReport(data: unknown): XssReport | null {
  if (!isRecord(data) || data.type !== "sot-demo-xss" || !isRecord(data.used)) return null;
  const { token, cookies, used } = data;
  if ((token !== null && typeof token !== "string") || typeof cookies !== "string" || typeof used.status !== "number") return null;
  const authorizedBy = typeof used.authorizedBy === "string" ? used.authorizedBy : null;
  return { type: "sot-demo-xss", token: token?.slice(0, 2048) ?? null, cookies: cookies.slice(0, 2048), used: { status: used.status, authorizedBy } };
}

/** The demo endpoint's header naming what each defence decided. */
export const CSRF_DEMO_HEADER = "X-Csrf-Demo";

export function formatDemoVerdict(answer: CsrfAnswer): string {
  return `outcome=${answer.outcome}; refused-by=${answer.refusedBy ?? "none"}; cookie=${answer.cookie}; authorization=${answer.authorization}; origin-check=${answer.originCheck}`;
}

/** The X-Csrf-Demo header read back; null for anything else. */
export function parseDemoVerdict(header: string | null | undefined): CsrfAnswer | null {
  if (typeof header !== "string" || header.length > 512) return null;
  const fields = new Map(header.split(";").map((part) => part.trim().split("=") as [string, string | undefined]));
  const refusedBy = fields.get("refused-by");
  const answer = {
    outcome: fields.get("outcome"),
    refusedBy: refusedBy === "none" ? null : refusedBy,
    cookie: fields.get("cookie"),
    authorization: fields.get("authorization"),
    originCheck: fields.get("origin-check"),
  };
  return validAnswer(answer);
}

function validAnswer(answer: unknown): CsrfAnswer | null {
  return isRecord(answer) &&
    oneOf(answer.outcome, ["accepted", "refused"] as const) &&
    (answer.refusedBy === null || oneOf(answer.refusedBy, ["origin-check", "credential"] as const)) &&
    oneOf(answer.cookie, ["valid", "invalid", "absent"] as const) &&
    oneOf(answer.authorization, ["valid", "invalid", "absent"] as const) &&
    oneOf(answer.originCheck, ["passed", "refused"] as const)
    ? { outcome: answer.outcome, refusedBy: answer.refusedBy, cookie: answer.cookie, authorization: answer.authorization, originCheck: answer.originCheck }
    : null;
}

/** The attacker frame's report: its origin, the status, and the X-Csrf-Demo header it could read. */
export function parseCsrfReport(data: unknown): CsrfReport | null {
  if (!isRecord(data) || data.type !== "sot-demo-csrf" || typeof data.pageOrigin !== "string" || typeof data.status !== "number") return null;
  return { type: "sot-demo-csrf", pageOrigin: data.pageOrigin, status: data.status, answer: parseDemoVerdict(typeof data.verdict === "string" ? data.verdict : null) };
}

/**
 * The script "injected" through the demo page's reflected parameter: it reads
 * localStorage and document.cookie, uses the cookie with a credentialed
 * request to the page's own origin, and reports to the lab page only (exact
 * target origin).
 */
export function xssPayload(labOrigin: string): string {
  const script = `(async()=>{const r={type:"sot-demo-xss",token:localStorage.getItem(${JSON.stringify(DEMO_STORAGE_KEY)}),cookies:document.cookie,used:{status:0,authorizedBy:null}};try{const a=await fetch("/demo/xss/account",{credentials:"same-origin"});r.used.status=a.status;const b=await a.json();r.used.authorizedBy=typeof b.authorizedBy==="string"?b.authorizedBy:null}catch{}parent.postMessage(r,${JSON.stringify(labOrigin)})})()`;
  return `<script>${script}</script>`;
}

export function xssBrowserClaim(report: XssReport, frameOrigin: string): ClaimResult {
  const tokenRead = report.token !== null && report.token.length > 0;
  const cookieRead = report.cookies.split(";").some((part) => part.trim().startsWith(`${DEMO_COOKIE}=`));
  const cookieUsed = report.used.status === 200;
  const verdict =
    tokenRead && !cookieRead
      ? `True: the injected script read the token in localStorage (${report.token?.length ?? 0} characters) and could send it anywhere; it could not read the HttpOnly cookie${cookieUsed ? ` — but it used it: a credentialed request from the page was accepted (${report.used.status})` : ""}.`
      : `Not as claimed in this browser: the injected script ${tokenRead ? "read" : "did not read"} the localStorage token and ${cookieRead ? "read" : "did not read"} the HttpOnly cookie.`;
  return {
    id: "xss-browser",
    claim: "A JWT in localStorage is exposed to XSS — measured in your browser.",
    measured: `A script injected into a demo page on ${frameOrigin} (reflected XSS), with a made-up token in localStorage and a made-up session in an HttpOnly cookie: what it could read, and whether it could use the cookie.`,
    columns: [
      {
        key: "session",
        tone: "session",
        heading: "HttpOnly cookie (how sessions travel)",
        figure: cookieRead ? "read by the script" : "not readable",
        detail: `document.cookie showed ${cookieRead ? "it" : "no demo_session"}; a credentialed request with it: ${cookieUsed ? `accepted (${report.used.status})` : `refused (${report.used.status})`}.`,
      },
      {
        key: "token",
        tone: "token",
        heading: "JWT in localStorage",
        figure: tokenRead ? `read: ${report.token?.length ?? 0} characters` : "not read",
        detail: tokenRead ? "The script holds the token itself: it can replay it from anywhere until exp." : "localStorage held no demo token.",
      },
    ],
    charts: [
      {
        title: "What the injected script got (1 = yes)",
        unit: "yes",
        bars: [
          { key: "cookie-read", label: "HttpOnly cookie read", value: cookieRead ? 1 : 0, display: cookieRead ? "yes" : "no", tone: "session" },
          { key: "cookie-used", label: "HttpOnly cookie used (while the page is open)", value: cookieUsed ? 1 : 0, display: cookieUsed ? "yes" : "no", tone: "session" },
          { key: "token-read", label: "localStorage token read", value: tokenRead ? 1 : 0, display: tokenRead ? "yes" : "no", tone: "token" },
        ],
      },
    ],
    tables: [
      {
        caption: "The injected script's view",
        columns: ["Check", "Result"],
        rows: [
          { key: "token-read", cells: ["localStorage token read", tokenRead ? "yes" : "no"] },
          { key: "cookie-read", cells: ["HttpOnly cookie in document.cookie", cookieRead ? "yes" : "no"] },
          { key: "cookie-used", cells: ["Credentialed request with the cookie", String(report.used.status)] },
        ],
      },
    ],
    verdict,
    caveat:
      "HttpOnly keeps the cookie's value from the script, not its power: while the page is open, injected script can make requests the cookie authorizes. XSS is game over either way — HttpOnly only stops the theft of a credential that outlives the page.",
  };
}

export interface CsrfAttempt {
  /** The attacker page's relation to the lab page. */
  relation: "same-site" | "cross-site";
  report: CsrfReport;
}

const describe = (attempt: CsrfAttempt) => {
  const answer = attempt.report.answer;
  if (!answer) return `no readable answer (${attempt.report.status})`;
  if (answer.outcome === "accepted") return `accepted (${attempt.report.status})`;
  return answer.refusedBy === "origin-check" ? `refused by the origin check (${attempt.report.status})` : `refused: no credential (${attempt.report.status})`;
};

export function csrfBrowserClaim(attempts: CsrfAttempt[]): ClaimResult {
  const of = (relation: CsrfAttempt["relation"]) => attempts.find((attempt) => attempt.relation === relation);
  const cross = of("cross-site");
  const same = of("same-site");
  const sameSiteHeld = cross?.report.answer?.cookie === "absent";
  const originHeld = same?.report.answer?.cookie !== "absent" && same?.report.answer?.refusedBy === "origin-check";
  const noBearer = attempts.every((attempt) => attempt.report.answer?.authorization === "absent");
  const allRefused = attempts.length > 0 && attempts.every((attempt) => attempt.report.answer?.outcome === "refused");
  const defences = [
    cross ? `from another site (${cross.report.pageOrigin}) the browser did ${sameSiteHeld ? "not attach" : "attach"} the cookie (SameSite)` : "",
    same ? `from another origin of the same site (${same.report.pageOrigin}) it ${same.report.answer?.cookie === "absent" ? "did not attach it either" : "attached it"}, and the server's origin check ${originHeld ? "refused the request" : "did not refuse it"}` : "",
  ].filter(Boolean);
  return {
    id: "csrf-browser",
    claim: "Cookies are vulnerable to CSRF — forged in your browser.",
    measured: "A form on the downstream service's origin, posted with the browser's cookies to this app's demo transfer (which the demo cookie authorizes), from another site and from another origin of the same site.",
    columns: [
      {
        key: "session",
        tone: "session",
        heading: "Cookie",
        figure: allRefused ? "refused" : "not refused",
        detail: attempts.map((attempt) => `${attempt.relation}: cookie ${attempt.report.answer?.cookie ?? "?"}, ${describe(attempt)}`).join(". "),
      },
      {
        key: "token",
        tone: "token",
        heading: "Bearer token",
        figure: noBearer ? "never attached" : "attached",
        detail: "The forged requests carried no Authorization header: a page cannot make the browser attach another origin's token, so there is nothing to forge.",
      },
    ],
    charts: [
      {
        title: "Forged requests in your browser (1 = accepted)",
        unit: "accepted",
        bars: attempts.map((attempt) => ({
          key: attempt.relation,
          label: `Form on ${attempt.relation === "same-site" ? "the same site" : "another site"}`,
          value: attempt.report.answer?.outcome === "accepted" ? 1 : 0,
          display: describe(attempt),
          tone: "session" as const,
        })),
      },
    ],
    tables: [
      {
        caption: "What reached the demo endpoint from your browser",
        columns: ["Attacker page", "Cookie attached", "Authorization", "Origin check", "Answer"],
        rows: attempts.map((attempt) => ({
          key: `browser-${attempt.relation}`,
          cells: [
            `${attempt.report.pageOrigin} (${attempt.relation})`,
            attempt.report.answer ? (attempt.report.answer.cookie === "absent" ? "no" : "yes") : "?",
            attempt.report.answer?.authorization ?? "?",
            attempt.report.answer?.originCheck ?? "?",
            describe(attempt),
          ],
        })),
      },
    ],
    verdict: allRefused
      ? `Not here: ${defences.join("; ")}.`
      : `True in this browser: a forged request was not refused — ${attempts.map((attempt) => `${attempt.relation}: ${describe(attempt)}`).join("; ")}.`,
    caveat: "Each defence is enough alone for the case shown; a sibling origin on the same site gets the cookie attached, so there the origin check carries the weight.",
  };
}

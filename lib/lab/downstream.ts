import "server-only";
import { env } from "../platform/env";
import { cookieNameFor } from "../strategies";
import { databaseStrategy as database } from "../strategies/database";
import { issueTokenPair } from "../strategies/api";
import { downstreamLoopbackTarget, downstreamOrigin } from "./demo-origins";
import { send, type Answer } from "./loopback";
import { withThrowawayAccount } from "./throwaway";
import type { ClaimResult, Experiment, LabRun } from "./types";

/**
 * "Tokens work across origins; downstream services can share them."
 * For a throwaway account: an API access token and a database session, each
 * presented to this server (the control) and to the downstream service on its
 * own origin (DOWNSTREAM_URL), which holds nothing but this server's JWKS; then
 * the service's CORS answers to a preflight from this app's origin and from
 * another one. Requests go to loopback only: the downstream URL is checked first.
 */

/** An origin no browser page of this app has: what a preflight from a stranger says. */
export const OTHER_ORIGIN = "https://other-origin.example";

export interface DownstreamFigures {
  /** DOWNSTREAM_URL as configured. */
  url: string;
  /** Why nothing could be measured, or null. */
  unavailable: "not-loopback" | "not-answering" | null;
  token: { app: number | null; downstream: number | null; greeting: string | null };
  session: { app: number | null; downstream: number | null };
  preflight: {
    app: { status: number | null; allowOrigin: string | null; allowCredentials: string | null; allowHeaders: string | null };
    other: { status: number | null; allowOrigin: string | null };
  };
}

const header = (answer: Answer, name: string): string | null => {
  const value = answer.headers[name];
  return Array.isArray(value) ? value.join(", ") : (value ?? null);
};

function greetingOf(answer: Answer): string | null {
  try {
    const body = JSON.parse(answer.body) as { message?: unknown };
    return typeof body.message === "string" ? body.message : null;
  } catch {
    return null;
  }
}

const empty = (url: string, unavailable: DownstreamFigures["unavailable"]): DownstreamFigures => ({
  url,
  unavailable,
  token: { app: null, downstream: null, greeting: null },
  session: { app: null, downstream: null },
  preflight: { app: { status: null, allowOrigin: null, allowCredentials: null, allowHeaders: null }, other: { status: null, allowOrigin: null } },
});

export const downstreamExperiment = {
  id: "downstream",
  title: "Across origins",
  summary: "Tokens work across origins; downstream services can share them.",

  async run(lab: LabRun): Promise<ClaimResult[]> {
    const url = env.DOWNSTREAM_URL;
    const target = downstreamLoopbackTarget(url);
    if (!target) return [downstreamClaim(empty(url, "not-loopback"))];
    lab.progress(`Checking that the downstream service answers at ${downstreamOrigin()}`);
    if ((await send(target, "/health")).status !== 200) return [downstreamClaim(empty(url, "not-answering"))];
    const appOrigin = env.APP_URL;

    const figures = await withThrowawayAccount(async (account) => {
      lab.progress("Created a throwaway account; issuing an API access token and a database session");
      const pair = await issueTokenPair(account.user, lab.context);
      await account.track(pair.access_token);
      const issued = await account.signIn(database, lab.context);
      const bearer = { authorization: `Bearer ${pair.access_token}` };
      // Loopback is plain http: the plain cookie name, as the server reads it there.
      const cookie = { cookie: `${cookieNameFor(database, false)}=${issued.value}` };

      lab.progress("Presenting each to this server and to the downstream service");
      const [tokenApp, tokenDownstream, sessionApp, sessionDownstream] = await Promise.all([
        send(lab.origin, "/api/me", { headers: bearer }),
        send(target, "/api/greeting", { headers: { ...bearer, origin: appOrigin } }),
        send(lab.origin, "/api/me", { headers: cookie }),
        send(target, "/api/greeting", { headers: { ...cookie, origin: appOrigin } }),
      ]);
      lab.progress("Asking the downstream service's CORS: a preflight from this app's origin and from another one");
      const preflight = (origin: string) =>
        send(target, "/api/greeting", { method: "OPTIONS", headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" } });
      const [fromApp, fromOther] = await Promise.all([preflight(appOrigin), preflight(OTHER_ORIGIN)]);
      lab.progress("Deleting the throwaway account and its sessions");
      return {
        url,
        unavailable: null,
        token: { app: tokenApp.status, downstream: tokenDownstream.status, greeting: greetingOf(tokenDownstream) },
        session: { app: sessionApp.status, downstream: sessionDownstream.status },
        preflight: {
          app: {
            status: fromApp.status,
            allowOrigin: header(fromApp, "access-control-allow-origin"),
            allowCredentials: header(fromApp, "access-control-allow-credentials"),
            allowHeaders: header(fromApp, "access-control-allow-headers"),
          },
          other: { status: fromOther.status, allowOrigin: header(fromOther, "access-control-allow-origin") },
        },
      } satisfies DownstreamFigures;
    });
    return [downstreamClaim(figures)];
  },
} satisfies Experiment<"downstream">;

const statusText = (status: number | null) => (status === null ? "no answer" : String(status));
const accepted = (status: number | null) => status === 200;

export function downstreamVerdict(figures: DownstreamFigures, appOrigin: string): { verdict: string; caveat: string } {
  if (figures.unavailable === "not-loopback") {
    return {
      verdict: `Not measured: DOWNSTREAM_URL (${figures.url}) is not on this machine's loopback, and the lab sends requests to loopback only.`,
      caveat: "Run the downstream service on 127.0.0.1 (npm start does) to measure this claim here.",
    };
  }
  if (figures.unavailable === "not-answering") {
    return {
      verdict: `Not measured: the downstream service did not answer at ${figures.url}.`,
      caveat: "npm start starts it next to the app; with DOWNSTREAM_URL set by hand, start it with npm run downstream.",
    };
  }
  if (!accepted(figures.token.app) || !accepted(figures.session.app)) {
    return {
      verdict: "Inconclusive: this server refused a fresh credential (the control), so nothing can be read from the downstream answers.",
      caveat: "The server log says why the fresh credential was refused.",
    };
  }
  const tokenWorks = accepted(figures.token.downstream);
  const sessionRefused = figures.session.downstream !== null && !accepted(figures.session.downstream);
  const corsExact =
    figures.preflight.app.allowOrigin === appOrigin && figures.preflight.app.allowCredentials === null && figures.preflight.other.allowOrigin === null;
  const cors = corsExact
    ? `its CORS lets exactly ${appOrigin} send the Authorization header, without credentials (cookies), and gave another origin's preflight ${statusText(figures.preflight.other.status)} with no CORS headers`
    : `its CORS answered this app's preflight with Allow-Origin ${figures.preflight.app.allowOrigin ?? "none"} and another origin's with ${figures.preflight.other.allowOrigin ?? "none"}`;
  if (tokenWorks && sessionRefused) {
    return {
      verdict: `True here: the downstream service on another origin accepted the API access token (${statusText(figures.token.downstream)}) verified with the JWKS alone, and refused the database session cookie (${statusText(figures.session.downstream)}), which only this server's store can resolve; ${cors}.`,
      caveat: `Sharing cuts both ways: the service cannot see a revocation and accepts the token until exp (ACCESS_TOKEN_TTL_SECONDS=${env.ACCESS_TOKEN_TTL_SECONDS}); and CORS binds browsers only — any client holding the token can use it.`,
    };
  }
  return {
    verdict: `Not as claimed here: the downstream service answered the access token with ${statusText(figures.token.downstream)} and the database session cookie with ${statusText(figures.session.downstream)}; ${cors}.`,
    caveat: "The downstream service's log says why it refused (it names the failed check, never the token).",
  };
}

export function downstreamClaim(figures: DownstreamFigures, appOrigin: string = env.APP_URL): ClaimResult {
  const { verdict, caveat } = downstreamVerdict(figures, appOrigin);
  const measured = figures.unavailable === null;
  const answerWords = (status: number | null) => (status === 200 ? "accepted (200)" : status === null ? "no answer" : `refused (${status})`);
  const bar = (key: string, label: string, status: number | null, tone: "session" | "token") => ({
    key,
    label,
    value: accepted(status) ? 1 : 0,
    display: answerWords(status),
    tone,
  });
  return {
    id: "downstream",
    claim: "Tokens work across origins; downstream services can share them.",
    measured: `A throwaway API access token and database session presented to this server and to the downstream service at ${figures.url} (another origin, holding only this server's JWKS), and that service's CORS answers to preflights from ${appOrigin} and from ${OTHER_ORIGIN}.`,
    columns: [
      {
        key: "session",
        tone: "session",
        heading: "Database session (cookie)",
        figure: measured ? `downstream: ${answerWords(figures.session.downstream)}` : "not measured",
        detail: measured ? `This server: ${answerWords(figures.session.app)}. The service has no session store, so the cookie means nothing there.` : verdict,
      },
      {
        key: "token",
        tone: "token",
        heading: "JWT (API access token)",
        figure: measured ? `downstream: ${answerWords(figures.token.downstream)}` : "not measured",
        detail: measured
          ? `This server: ${answerWords(figures.token.app)}. Verified with the public key alone${figures.token.greeting ? `: "${figures.token.greeting}"` : ""}.`
          : verdict,
      },
    ],
    charts: measured
      ? [
          {
            title: "Accepted (1) or refused (0), by verifier",
            unit: "accepted",
            bars: [
              bar("session-app", "Database session — this server", figures.session.app, "session"),
              bar("session-downstream", "Database session — downstream service", figures.session.downstream, "session"),
              bar("token-app", "Access token — this server", figures.token.app, "token"),
              bar("token-downstream", "Access token — downstream service", figures.token.downstream, "token"),
            ],
          },
        ]
      : [],
    tables: measured
      ? [
          {
            caption: "Each credential on this server and on the downstream service",
            columns: ["Credential — verifier", "Status", "Outcome"],
            rows: [
              { key: "session-app", cells: ["Database session — this server", statusText(figures.session.app), answerWords(figures.session.app)] },
              { key: "session-downstream", cells: ["Database session — downstream service", statusText(figures.session.downstream), answerWords(figures.session.downstream)] },
              { key: "token-app", cells: ["Access token — this server", statusText(figures.token.app), answerWords(figures.token.app)] },
              { key: "token-downstream", cells: ["Access token — downstream service", statusText(figures.token.downstream), answerWords(figures.token.downstream)] },
            ],
          },
          {
            caption: "The downstream service's CORS preflight answers",
            columns: ["Preflight from", "Status", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"],
            rows: [
              {
                key: "preflight-app",
                cells: [`this app (${appOrigin})`, statusText(figures.preflight.app.status), figures.preflight.app.allowOrigin ?? "none", figures.preflight.app.allowCredentials ?? "none (not allowed)"],
              },
              {
                key: "preflight-other",
                cells: [`another origin (${OTHER_ORIGIN})`, statusText(figures.preflight.other.status), figures.preflight.other.allowOrigin ?? "none", "none (not allowed)"],
              },
            ],
          },
        ]
      : [],
    verdict,
    caveat,
  };
}

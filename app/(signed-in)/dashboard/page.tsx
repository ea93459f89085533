import type { Metadata } from "next";
import { headers } from "next/headers";
import Link from "next/link";
import { redirect } from "next/navigation";
import { DownstreamCall } from "@/app/components/downstream-call";
import { ExpiresIn } from "@/app/components/expires-in";
import { RevocationMeter } from "@/app/components/revocation-meter";
import { UtcTime } from "@/app/components/session-cells";
import { describePasswordReset } from "@/lib/account/recovery";
import { requireSession } from "@/lib/auth/guards";
import { currentAuthentication, isRecentAuthentication, stepUpWindowSeconds } from "@/lib/auth/step-up";
import { durationInWords } from "@/lib/sessions/revocation";
import { env } from "@/lib/platform/env";
import { feedStatus } from "@/lib/sessions/feed";
import { findSessionById, type SignInOrigin } from "@/lib/sessions/store";
import { auditEventsForUser } from "@/lib/security/audit";
import { loginPath } from "@/lib/security/redirect";
import { isHttps } from "@/lib/security/request";
import { isAdmin } from "@/lib/users/roles";
import { sessionReport } from "./report";

export const metadata: Metadata = { title: "Dashboard · Session or Token" };

/** The revocation mode in force, and in pushed mode whether this instance's feed is live right now. */
function revocationState(): string {
  const feed = feedStatus();
  if (!feed) return `${env.REVOCATION_MODE} mode`;
  const channel = { postgresql: "PostgreSQL LISTEN/NOTIFY", redis: "Redis pub/sub", "in-process": "in-process" }[feed.transport];
  return feed.live
    ? `pushed mode: feed live (${channel}), ${feed.revokedIdsKnown} revoked session${feed.revokedIdsKnown === 1 ? "" : "s"} in memory, no lookup per request`
    : `pushed mode: feed DOWN (${channel}) since ${new Date(feed.since).toISOString()}: every request reads the store until it is back`;
}

/** How this session's sign-in was proved, as recorded on the session. */
function SignInMethod({ origin }: { origin: SignInOrigin | null }) {
  if (!origin) return <>not recorded</>;
  if (origin.method !== "oidc") return origin.method === "password" ? <>password</> : <>email link (registration)</>;
  return (
    <>
      OpenID Connect provider: issuer <code data-testid="signin-issuer">{origin.issuer}</code>, subject{" "}
      <code data-testid="signin-subject">{origin.subject}</code>
      {origin.providerSessionId ? ", provider session id (sid) recorded" : ", the provider sent no session id (sid)"}
    </>
  );
}

export default async function DashboardPage() {
  const session = await requireSession("/dashboard");
  const report = await sessionReport(session, isHttps(await headers()));
  // Revoked between the two checks: treat it as signed out.
  if (!report) redirect(loginPath("/dashboard"));
  const { strategy, evidence, cookieName, cookieBytes, checkMs, generatedAt } = report;
  const downstreamUrl = env.DOWNSTREAM_URL;
  const [admin, activity, stored] = await Promise.all([
    isAdmin(session.user.id),
    auditEventsForUser(session.user.id, 10),
    session.sessionId ? findSessionById(session.sessionId) : null,
  ]);
  const authentication = await currentAuthentication(session);
  const recent = isRecentAuthentication(authentication, new Date(generatedAt), stepUpWindowSeconds());

  return (
    <>
      <h1>Dashboard</h1>
      <nav aria-label="Account" className="card">
        <Link href="/dashboard/sessions">Active sessions</Link> · <Link href="/dashboard/security">Security</Link> ·{" "}
        <Link href="/compare">Comparison lab</Link>
        {admin && (
          <>
            {" "}
            · <Link href="/admin">Admin</Link>
          </>
        )}
      </nav>
      <section className="card" aria-labelledby="who">
        <h2 id="who">Signed in</h2>
        <dl className="facts">
          <dt>Name</dt>
          <dd>{session.user.name ?? "—"}</dd>
          <dt>Email</dt>
          <dd>{session.user.email}</dd>
          <dt>Strategy</dt>
          <dd>
            <strong>Strategy: {strategy.kind}</strong> ({strategy.label})
          </dd>
          <dt>Signed in with</dt>
          <dd data-testid="signin-method">
            <SignInMethod origin={stored?.origin ?? null} />
          </dd>
          <dt>Last authenticated</dt>
          <dd data-testid="auth-time">
            {authentication ? (
              <>
                <UtcTime date={authentication.time} />, method{" "}
                <code data-testid="auth-methods">{authentication.methods.length > 0 ? authentication.methods.join(" ") : "not stated by the provider"}</code>
                {recent
                  ? ` — within the last ${durationInWords(stepUpWindowSeconds())}: sensitive actions go ahead`
                  : ` — more than ${durationInWords(stepUpWindowSeconds())} ago: sensitive actions ask you to confirm it's you first`}
              </>
            ) : (
              "not recorded — sensitive actions ask you to confirm it's you first"
            )}
          </dd>
          <dt>Expires in</dt>
          <dd>
            <ExpiresIn expires={session.expires.toISOString()} serverNow={generatedAt} /> ({session.expires.toISOString()})
          </dd>
          <dt>Cookie</dt>
          <dd>
            <code>{cookieName}</code>, <span data-testid="cookie-size">{cookieBytes} bytes</span>, HttpOnly, SameSite=Lax
          </dd>
          <dt>Cost of one check</dt>
          <dd data-testid="check-cost">
            {checkMs.toFixed(2)} ms ({strategy.facts().check})
          </dd>
          <dt>Revocation</dt>
          <dd data-testid="revocation-mode">{revocationState()}</dd>
          <dt>Answered by</dt>
          <dd data-testid="answered-by">{env.INSTANCE_ID ? `instance ${env.INSTANCE_ID}` : "this server (a single instance)"}</dd>
        </dl>
      </section>

      <section className="card" aria-labelledby="evidence">
        <h2 id="evidence">What this strategy stored</h2>
        {evidence.sections.map((section) => (
          <div key={section.testId}>
            <h3>{section.title}</h3>
            <pre data-testid={section.testId}>{JSON.stringify(section.content, null, 2)}</pre>
          </div>
        ))}
        <ul>
          {evidence.notes.map((note) => (
            <li key={note}>{note}</li>
          ))}
        </ul>
      </section>

      <section className="card" aria-labelledby="revocation">
        <h2 id="revocation">How long does a stolen credential keep working?</h2>
        <p>
          Issues a throwaway credential of this strategy (and an API access token) for you, checks it, revokes it, and keeps
          checking until this server refuses it.
        </p>
        <RevocationMeter />
      </section>

      <section className="card" aria-labelledby="downstream">
        <h2 id="downstream">A service on another origin</h2>
        <p>
          The downstream service at <code>{downstreamUrl}</code> holds no secret and no database: it verifies access tokens
          with the public keys from this app&apos;s JWKS, and answers cross-origin requests from this app only.
        </p>
        <DownstreamCall downstreamUrl={downstreamUrl} />
      </section>

      <section className="card" aria-labelledby="activity">
        <h2 id="activity">Recent activity</h2>
        {activity.length === 0 ? (
          <p>No recorded activity yet.</p>
        ) : (
          <ul data-testid="recent-activity">
            {activity.map((event) => (
              <li key={event.id}>
                <UtcTime date={event.createdAt} />{" "}
                <code>{event.event}</code>
                {event.ip ? ` from ${event.ip}` : ""}
                {event.event === "password.reset" && `: ${describePasswordReset(event.detail)}`}
              </li>
            ))}
          </ul>
        )}
      </section>

    </>
  );
}

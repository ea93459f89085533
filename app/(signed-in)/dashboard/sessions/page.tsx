import type { Metadata } from "next";
import Link from "next/link";
import { revokeOtherSessionsAction, revokeSessionAction } from "@/app/actions/account";
import { SessionCells, UtcTime } from "@/app/components/session-cells";
import { RevokeButton, SignOutOthersButton } from "@/app/components/session-controls";
import { AccountTable } from "@/app/components/account-table";
import { activeSessionsForUser } from "@/lib/account/sessions";
import { requireSession } from "@/lib/auth/guards";
import { revocationIsImmediate, revokedTokenFate } from "@/lib/sessions/revocation";
import { sessionLabel } from "@/lib/strategies";
import { env } from "@/lib/platform/env";

export const metadata: Metadata = { title: "Active sessions · Session or Token" };

export default async function SessionsPage() {
  const session = await requireSession("/dashboard/sessions");
  const sessions = await activeSessionsForUser(session.user.id, session.sessionId);
  const others = sessions.filter((row) => !row.current).length;

  return (
    <>
      <p>
        <Link href="/dashboard">← Dashboard</Link>
      </p>
      <h1>Active sessions</h1>
      <p>
        Every place your account is signed in: browsers with a database session or a JWT, and API clients holding tokens.
        Revoking one signs it out on its next request
        {revocationIsImmediate() ? "" : ` (a JWT or access token only once it expires: ${revokedTokenFate(env.JWT_TTL_SECONDS)})`}.
      </p>
      <section className="card" aria-labelledby="sessions-heading">
        <h2 id="sessions-heading">
          {sessions.length === 1 ? "1 active session" : `${sessions.length} active sessions`}
        </h2>
        <AccountTable labelledBy="sessions-heading" testId="sessions-table" columns={["#", "Kind", "Device", "IP", "Created", "Last seen", "Expires"]} actions>
          {sessions.map((row, index) => (
            <tr key={row.id} data-session-id={row.id} data-strategy={row.strategy} aria-current={row.current ? "true" : undefined}>
              <td>{index + 1}</td>
              <SessionCells
                strategy={row.strategy}
                current={row.current}
                device={row.device}
                userAgent={row.userAgent}
                ip={row.ip}
                createdAt={row.createdAt}
                lastSeenAt={row.lastSeenAt}
              />
              <td>
                <UtcTime date={row.expires} />
              </td>
              <td>
                <RevokeButton
                  action={revokeSessionAction}
                  field="sessionId"
                  value={row.id}
                  label={`Revoke session ${index + 1}: ${row.device}, ${sessionLabel(row.strategy)}${row.current ? " (this device, signs you out)" : ""}`}
                />
              </td>
            </tr>
          ))}
        </AccountTable>
        <p>
          {others === 0
            ? "No other session is signed in."
            : "Sign out every other browser and API client of your account; this one stays signed in."}
        </p>
        <SignOutOthersButton action={revokeOtherSessionsAction} />
      </section>
    </>
  );
}

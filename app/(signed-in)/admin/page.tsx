import type { Metadata } from "next";
import Link from "next/link";
import { adminRevokeSessionAction, adminRevokeUserSessionsAction } from "@/app/actions/admin";
import { AccountTable } from "@/app/components/account-table";
import { SessionCells, UtcTime } from "@/app/components/session-cells";
import { RevokeButton } from "@/app/components/session-controls";
import { requireAdmin } from "@/lib/auth/guards";
import { sessionLabel } from "@/lib/strategies";
import { activeSessionsForAdmin, auditLogForAdmin, usersForAdmin } from "@/lib/admin/admin";

export const metadata: Metadata = { title: "Admin · Session or Token", robots: { index: false } };

/** The audit detail as "key=value" pairs (it never holds secrets). */
function detailText(detail: string | null): string {
  if (!detail) return "";
  try {
    const parsed = JSON.parse(detail) as Record<string, unknown>;
    return Object.entries(parsed)
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(" ");
  } catch {
    return "";
  }
}

export default async function AdminPage() {
  const admin = await requireAdmin("/admin");
  const now = new Date();
  const [users, sessions, events] = await Promise.all([usersForAdmin(now), activeSessionsForAdmin(now), auditLogForAdmin()]);

  return (
    <>
      <p>
        <Link href="/dashboard">← Dashboard</Link>
      </p>
      <h1>Admin</h1>

      <section className="card" aria-labelledby="users-heading">
        <h2 id="users-heading">Users</h2>
        <AccountTable labelledBy="users-heading" testId="admin-users" columns={["Email", "Name", "Role", "Active sessions"]} actions>
          {users.map((user) => (
            <tr key={user.id} data-user-id={user.id}>
              <td>{user.email}</td>
              <td>{user.name ?? "—"}</td>
              <td>{user.role}</td>
              <td data-testid="active-session-count">{user.activeSessions}</td>
              <td>
                {user.activeSessions > 0 && (
                  <RevokeButton
                    action={adminRevokeUserSessionsAction}
                    field="userId"
                    value={user.id}
                    label={`Sign out ${user.email} everywhere`}
                    text="Sign out everywhere"
                  />
                )}
              </td>
            </tr>
          ))}
        </AccountTable>
      </section>

      <section className="card" aria-labelledby="admin-sessions-heading">
        <h2 id="admin-sessions-heading">Active sessions</h2>
        <AccountTable labelledBy="admin-sessions-heading" testId="admin-sessions" columns={["#", "User", "Kind", "Device", "IP", "Created", "Last seen"]} actions>
          {sessions.map((row, index) => (
            <tr key={row.id} data-session-id={row.id} data-strategy={row.strategy}>
              <td>{index + 1}</td>
              <td>{row.email}</td>
              <SessionCells
                strategy={row.strategy}
                current={row.id === admin.sessionId}
                device={row.device}
                ip={row.ip}
                createdAt={row.createdAt}
                lastSeenAt={row.lastSeenAt}
              />
              <td>
                <RevokeButton
                  action={adminRevokeSessionAction}
                  field="sessionId"
                  value={row.id}
                  label={`Revoke session ${index + 1} of ${row.email}: ${row.device}, ${sessionLabel(row.strategy)}`}
                />
              </td>
            </tr>
          ))}
        </AccountTable>
      </section>

      <section className="card" aria-labelledby="audit-heading">
        <h2 id="audit-heading">Audit log</h2>
        <p>The {events.length} most recent events, newest first.</p>
        <AccountTable labelledBy="audit-heading" testId="audit-log" columns={["Time", "Event", "User", "IP", "Detail"]}>
          {events.map((event) => (
            <tr key={event.id}>
              <td>
                <UtcTime date={event.createdAt} />
              </td>
              <td>
                <code>{event.event}</code>
              </td>
              <td>{event.who ?? "—"}</td>
              <td>{event.ip ?? "—"}</td>
              <td>{detailText(event.detail)}</td>
            </tr>
          ))}
        </AccountTable>
      </section>
    </>
  );
}

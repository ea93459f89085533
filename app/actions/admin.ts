"use server";

import { revalidatePath } from "next/cache";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import type { SessionActionState } from "@/app/actions/account";
import { adminRevokeAllSessionsOfUser, adminRevokeSession } from "@/lib/admin/admin";
import { auth } from "@/lib/auth";
import { endBrowserSessions } from "@/lib/auth/browser-session";
import { requireRecentAuthentication } from "@/lib/auth/step-up";
import { formText } from "@/lib/http/form-data";
import { log } from "@/lib/platform/log";
import { clientContext } from "@/lib/security/request";

/**
 * Administrator actions. Each checks again who is asking (signed in, and an
 * administrator by the database's current record): the page that shows the
 * buttons is no guarantee, since anyone can post to an action. A refusal is
 * one generic message whatever the reason.
 */

const NOT_ALLOWED = "That could not be done.";

/**
 * The shape both admin revocations share: check who asks, revoke, and — if the
 * admin just ended their own session — sign this browser out.
 */
async function revokeAsAdmin(
  formData: FormData,
  field: "sessionId" | "userId",
  revoke: (adminId: string, target: string, context: ReturnType<typeof clientContext>) => Promise<number | null>,
  endsOwnSession: (session: NonNullable<Awaited<ReturnType<typeof auth>>>, target: string) => boolean,
  message: (count: number) => string,
): Promise<SessionActionState> {
  const session = await auth();
  if (!session) return { error: NOT_ALLOWED };
  // Every admin action needs a recent authentication (the role itself is checked by revoke()).
  const recent = await requireRecentAuthentication(session, "/admin", "admin");
  if (!recent.ok) return { stepUp: recent.stepUp };
  const target = formText(formData, field);
  let count;
  try {
    count = await revoke(session.user.id, target, clientContext(await headers()));
  } catch (error) {
    log.error("admin.revoke_failed", { field, error });
    return { error: NOT_ALLOWED };
  }
  if (count === null) return { error: NOT_ALLOWED };
  if (endsOwnSession(session, target)) {
    await endBrowserSessions("revoked_by_admin");
    redirect("/login?signedOut=revoked");
  }
  revalidatePath("/admin");
  return { message: message(count) };
}

export async function adminRevokeSessionAction(_previous: SessionActionState, formData: FormData): Promise<SessionActionState> {
  return revokeAsAdmin(
    formData,
    "sessionId",
    async (adminId, sessionId, context) => ((await adminRevokeSession(adminId, sessionId, context)).ok ? 1 : null),
    (session, sessionId) => sessionId === session.sessionId,
    () => "Session revoked.",
  );
}

export async function adminRevokeUserSessionsAction(_previous: SessionActionState, formData: FormData): Promise<SessionActionState> {
  return revokeAsAdmin(
    formData,
    "userId",
    adminRevokeAllSessionsOfUser,
    (session, userId) => userId === session.user.id,
    (count) => (count === 1 ? "Signed out 1 session." : `Signed out ${count} sessions.`),
  );
}

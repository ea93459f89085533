"use server";

import { formText } from "@/lib/form-data";
import { revalidatePath } from "next/cache";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import type { SessionActionState } from "@/app/actions/account";
import { adminRevokeAllSessionsOfUser, adminRevokeSession } from "@/lib/admin";
import { auth, endBrowserSessions } from "@/lib/auth";
import { log } from "@/lib/log";
import { clientContext } from "@/lib/security";

/**
 * Administrator actions. Each checks again who is asking (signed in, and an
 * administrator by the database's current record): the page that shows the
 * buttons is no guarantee, since anyone can post to an action. A refusal is
 * one generic message whatever the reason.
 */

const NOT_ALLOWED = "That could not be done.";

export async function adminRevokeSessionAction(_previous: SessionActionState, formData: FormData): Promise<SessionActionState> {
  const session = await auth();
  if (!session) return { error: NOT_ALLOWED };
  const sessionId = formText(formData, "sessionId");
  let result;
  try {
    result = await adminRevokeSession(session.user.id, sessionId, clientContext(await headers()));
  } catch (error) {
    log.error("admin.revoke_failed", { error });
    return { error: NOT_ALLOWED };
  }
  if (!result.ok) return { error: NOT_ALLOWED };
  if (sessionId === session.sessionId) {
    await endBrowserSessions();
    redirect("/login?signedOut=revoked");
  }
  revalidatePath("/admin");
  return { message: "Session revoked." };
}

export async function adminRevokeUserSessionsAction(_previous: SessionActionState, formData: FormData): Promise<SessionActionState> {
  const session = await auth();
  if (!session) return { error: NOT_ALLOWED };
  const userId = formText(formData, "userId");
  let count;
  try {
    count = await adminRevokeAllSessionsOfUser(session.user.id, userId, clientContext(await headers()));
  } catch (error) {
    log.error("admin.revoke_all_failed", { error });
    return { error: NOT_ALLOWED };
  }
  if (count === null) return { error: NOT_ALLOWED };
  if (userId === session.user.id) {
    await endBrowserSessions();
    redirect("/login?signedOut=revoked");
  }
  revalidatePath("/admin");
  return { message: count === 1 ? "Signed out 1 session." : `Signed out ${count} sessions.` };
}

"use server";

import { revalidatePath } from "next/cache";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { changePassword, setFirstPassword } from "@/lib/account/password";
import { disconnectProvider } from "@/lib/account/provider-accounts";
import { revokeOtherSessions, revokeOwnSession } from "@/lib/account/sessions";
import { endBrowserSessions } from "@/lib/auth/browser-session";
import { requireSession } from "@/lib/auth/guards";
import { SECURITY_PATH, securityOutcomePath } from "@/lib/auth/provider-signin";
import { requireRecentAuthentication, type StepUpRequired } from "@/lib/auth/step-up";
import { formText } from "@/lib/http/form-data";
import { isPlausibleId } from "@/lib/platform/db";
import { log } from "@/lib/platform/log";
import { clientContext } from "@/lib/security/request";
import { redirectToBoundProviderFlow } from "./provider-flow";

/** Result of a session action, for useActionState. */
export interface SessionActionState {
  error?: string;
  message?: string;
  /** Set when the action needs a recent authentication first: the form shows "Confirm it's you". */
  stepUp?: StepUpRequired;
}

export type PasswordField = "currentPassword" | "newPassword";

export interface PasswordFormState {
  error?: string;
  fieldErrors?: Partial<Record<PasswordField, string>>;
  message?: string;
  stepUp?: StepUpRequired;
}

const NOT_REVOKED = "That session could not be revoked.";
const NOT_DISCONNECTED = "That provider could not be disconnected.";
const UNAVAILABLE = "Something went wrong. Please try again.";

/** Revokes one of the signed-in user's own sessions; revoking the current one signs this browser out. */
export async function revokeSessionAction(_previous: SessionActionState, formData: FormData): Promise<SessionActionState> {
  const session = await requireSession("/dashboard/sessions");
  const sessionId = formText(formData, "sessionId");
  if (!isPlausibleId(sessionId)) return { error: NOT_REVOKED };
  const context = clientContext(await headers());
  let revoked: boolean;
  try {
    revoked = await revokeOwnSession(session.user.id, sessionId, context);
  } catch (error) {
    log.error("session.revoke_failed", { error });
    return { error: UNAVAILABLE };
  }
  if (!revoked) return { error: NOT_REVOKED };
  if (sessionId === session.sessionId) {
    // This browser's own session: delete its cookie too, and leave.
    await endBrowserSessions("revoked_by_user");
    redirect("/login?signedOut=revoked");
  }
  revalidatePath("/dashboard/sessions");
  return { message: "Session revoked." };
}

/** Revokes every other session and token family of the signed-in user. */
export async function revokeOtherSessionsAction(_previous: SessionActionState): Promise<SessionActionState> {
  const session = await requireSession("/dashboard/sessions");
  if (!session.sessionId) return { error: UNAVAILABLE };
  const recent = await requireRecentAuthentication(session, "/dashboard/sessions", "sign_out_others");
  if (!recent.ok) return { stepUp: recent.stepUp };
  try {
    const count = await revokeOtherSessions(session.user.id, session.sessionId, {
      reason: "signed_out_elsewhere",
      by: "user",
      context: clientContext(await headers()),
    });
    revalidatePath("/dashboard/sessions");
    return { message: count === 1 ? "Signed out 1 other session." : `Signed out ${count} other sessions.` };
  } catch (error) {
    log.error("session.revoke_others_failed", { error });
    return { error: UNAVAILABLE };
  }
}

export async function changePasswordAction(_previous: PasswordFormState, formData: FormData): Promise<PasswordFormState> {
  const session = await requireSession("/dashboard/security");
  const recent = await requireRecentAuthentication(session, SECURITY_PATH, "change_password");
  if (!recent.ok) return { stepUp: recent.stepUp };
  try {
    const result = await changePassword({
      userId: session.user.id,
      currentSessionId: session.sessionId,
      currentPassword: formText(formData, "currentPassword"),
      newPassword: formText(formData, "newPassword"),
      context: clientContext(await headers()),
    });
    if (!result.ok) return { error: result.message, fieldErrors: { [result.field]: result.message } };
    revalidatePath("/dashboard/sessions");
    const others =
      result.revokedSessions === 0
        ? "No other session was signed in."
        : `${result.revokedSessions} other ${result.revokedSessions === 1 ? "session was" : "sessions were"} signed out.`;
    return { message: `Password changed. ${others}` };
  } catch (error) {
    log.error("password.change_failed", { error });
    return { error: UNAVAILABLE };
  }
}

/** A first password for a provider-only account: no current password, but a recent authentication. */
export async function setPasswordAction(_previous: PasswordFormState, formData: FormData): Promise<PasswordFormState> {
  const session = await requireSession(SECURITY_PATH);
  const recent = await requireRecentAuthentication(session, SECURITY_PATH, "change_password");
  if (!recent.ok) return { stepUp: recent.stepUp };
  try {
    const result = await setFirstPassword({
      userId: session.user.id,
      email: session.user.email,
      newPassword: formText(formData, "newPassword"),
      context: clientContext(await headers()),
    });
    if (!result.ok) {
      if (result.reason === "invalid") return { error: result.message, fieldErrors: { newPassword: result.message } };
      return { error: "This account already has a password: change it with the current one." };
    }
  } catch (error) {
    log.error("password.set_failed", { error });
    return { error: UNAVAILABLE };
  }
  // The page now shows the change form instead, and says what happened.
  redirect(securityOutcomePath("password_set"));
}

/** "Connect <provider>" on the security page: a flow to the provider bound to this session, which it leaves as it is. */
export async function connectProviderAction(boundProvider: unknown, _previous: SessionActionState): Promise<SessionActionState> {
  const session = await requireSession(SECURITY_PATH);
  const recent = await requireRecentAuthentication(session, SECURITY_PATH, "provider_link");
  if (!recent.ok) return { stepUp: recent.stepUp };
  return redirectToBoundProviderFlow("link", session, boundProvider, SECURITY_PATH);
}

/** "Disconnect" on the security page, refused when it would leave the account no way in. */
export async function disconnectProviderAction(_previous: SessionActionState, formData: FormData): Promise<SessionActionState> {
  const session = await requireSession(SECURITY_PATH);
  const recent = await requireRecentAuthentication(session, SECURITY_PATH, "provider_link");
  if (!recent.ok) return { stepUp: recent.stepUp };
  const accountId = formText(formData, "accountId");
  if (!isPlausibleId(accountId)) return { error: NOT_DISCONNECTED };
  let result;
  try {
    result = await disconnectProvider(session.user.id, accountId, clientContext(await headers()));
  } catch (error) {
    log.error("provider.unlink_failed", { error });
    return { error: UNAVAILABLE };
  }
  if (result.ok) redirect(securityOutcomePath("disconnected", result.providerId));
  if (result.reason === "last_way_in") {
    return { error: "This provider is the only way to sign in to your account. Set a password or connect another provider first." };
  }
  return { error: NOT_DISCONNECTED };
}

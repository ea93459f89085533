"use server";

import { redirect } from "next/navigation";
import { requireSession } from "@/lib/auth/guards";
import { CONFIRM_PATH, confirmWithPassword } from "@/lib/auth/step-up";
import { formText } from "@/lib/http/form-data";
import { log } from "@/lib/platform/log";
import { tooManyAttemptsMessage } from "@/lib/security/rate-limit";
import { redirectToBoundProviderFlow } from "./provider-flow";

export interface ConfirmFormState {
  error?: string;
}

const WRONG = "That password is not right.";
const UNAVAILABLE = "Something went wrong. Please try again.";

/** "Confirm it's you": the password again, then back to the action's page. */
export async function confirmIdentityAction(_previous: ConfirmFormState, formData: FormData): Promise<ConfirmFormState> {
  const session = await requireSession(CONFIRM_PATH);
  let outcome;
  try {
    outcome = await confirmWithPassword(session, formText(formData, "password"), formText(formData, "returnTo"));
  } catch (error) {
    log.error("step_up.confirm_failed", { error });
    return { error: UNAVAILABLE };
  }
  if (outcome.ok) redirect(outcome.returnTo);
  switch (outcome.reason) {
    case "blocked":
      return { error: tooManyAttemptsMessage(outcome.blocked) };
    case "no_password":
      return { error: "This account has no password: confirm with your sign-in provider instead." };
    case "ended":
      redirect("/login?signedOut=revoked");
    default:
      return { error: WRONG };
  }
}

/**
 * "Confirm with <provider>": the provider is asked to sign the user in again
 * (lib/auth/providers.ts, reauthentication), in a flow bound to this session;
 * its callback moves this session's authentication time and returns to the action's page.
 */
export async function confirmWithProviderAction(boundProvider: unknown, _previous: ConfirmFormState, formData: FormData): Promise<ConfirmFormState> {
  const session = await requireSession(CONFIRM_PATH);
  return redirectToBoundProviderFlow("confirm", session, boundProvider, formText(formData, "returnTo"));
}

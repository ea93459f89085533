"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { requestPasswordReset, resetPassword } from "@/lib/account/recovery";
import { finishRegistration } from "@/lib/account/registration";
import { signInVerifiedUser } from "@/lib/auth";
import { formText } from "@/lib/http/form-data";
import { log } from "@/lib/platform/log";
import { tooManyAttemptsMessage } from "@/lib/security/rate-limit";
import { clientContext } from "@/lib/security/request";
import { EmailSchema } from "@/lib/users/policy";

/** State of the forms a mailed link opens (finish sign-up, new password). */
export interface LinkFormState {
  /** Why the link cannot be used: the page then shows that instead of the form. */
  outcome?: "invalid_link" | "already_registered";
  /** Message for the whole form (shown in an alert). */
  error?: string;
  fieldErrors?: { password?: string };
}

/** State of the "forgot password" form. */
export interface ForgotPasswordState {
  /** The one answer, known address or not (shown as a status line). */
  notice?: string;
  error?: string;
  fieldErrors?: { email?: string };
  values?: { email?: string };
}

const UNAVAILABLE = "Something went wrong. Please try again.";

/** POST of the registration link's page: creates the account, signs this browser in with the chosen kind. */
export async function finishRegistrationAction(_previous: LinkFormState, formData: FormData): Promise<LinkFormState> {
  try {
    const result = await finishRegistration(formText(formData, "token"), clientContext(await headers()));
    if (!result.ok) return { outcome: result.reason };
    if (!(await signInVerifiedUser(result.user, result.kind))) return { error: UNAVAILABLE };
  } catch (error) {
    log.error("register.finish_error", { error });
    return { error: UNAVAILABLE };
  }
  redirect("/dashboard");
}

export async function forgotPasswordAction(_previous: ForgotPasswordState, formData: FormData): Promise<ForgotPasswordState> {
  const raw = formText(formData, "email");
  const email = EmailSchema.safeParse(raw);
  if (!email.success) {
    return { error: "Please correct the highlighted fields.", fieldErrors: { email: "Enter a valid email address." }, values: { email: raw } };
  }
  try {
    const result = await requestPasswordReset(email.data, clientContext(await headers()));
    if (result.status === "blocked") return { error: tooManyAttemptsMessage(result.blocked), values: { email: raw } };
    return { notice: `If an account exists for ${result.email}, we sent a link to reset its password.` };
  } catch (error) {
    log.error("password.reset_request_error", { error });
    return { error: UNAVAILABLE, values: { email: raw } };
  }
}

/** POST of the reset link's page: the new password and the token from the link. */
export async function resetPasswordAction(_previous: LinkFormState, formData: FormData): Promise<LinkFormState> {
  try {
    const result = await resetPassword({
      token: formText(formData, "token"),
      newPassword: formText(formData, "password"),
      context: clientContext(await headers()),
    });
    if (!result.ok && result.reason === "invalid_link") return { outcome: "invalid_link" };
    if (!result.ok) return { error: "Please choose another password.", fieldErrors: { password: result.message } };
  } catch (error) {
    log.error("password.reset_error", { error });
    return { error: UNAVAILABLE };
  }
  redirect("/login?reset=done");
}

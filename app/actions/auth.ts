"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { z } from "zod";
import { signIn, signOut } from "@/lib/auth";
import { formText } from "@/lib/http/form-data";
import { log } from "@/lib/platform/log";
import { limitByIp, tooManyAttemptsMessage } from "@/lib/security/rate-limit";
import { clientContext } from "@/lib/security/request";
import { safeRedirectPath } from "@/lib/security/redirect";
import { browserKinds } from "@/lib/strategies";
import { DuplicateEmailError, createUser } from "@/lib/users/users";
import { RegistrationSchema } from "@/lib/users/policy";

export type Field = "name" | "email" | "password" | "strategy";

export interface FormState {
  /** Message for the whole form (shown in an alert). */
  error?: string;
  fieldErrors?: Partial<Record<Field, string>>;
  /** What the user typed (never the password), to refill the form. */
  values?: { name?: string; email?: string; strategy?: string };
}

const INVALID_CREDENTIALS = "Invalid email or password";
const UNAVAILABLE = "Something went wrong. Please try again.";

const StrategyField = z.enum(browserKinds, { message: "Choose a session strategy." });

export async function signInAction(_previous: FormState, formData: FormData): Promise<FormState> {
  const email = formText(formData, "email");
  const strategy = formText(formData, "strategy");
  const values = { email, strategy };
  let result;
  try {
    // Every failure, malformed input included, gets the one message: it says nothing about which part was wrong.
    result = await signIn({ email, password: formText(formData, "password"), strategy });
  } catch (error) {
    log.error("signin.error", { error });
    return { error: UNAVAILABLE, values };
  }
  // Over a limit: how long to wait, the same for known and unknown emails.
  if (!result.ok) return { error: result.blocked ? tooManyAttemptsMessage(result.blocked) : INVALID_CREDENTIALS, values };
  redirect(safeRedirectPath(formText(formData, "callbackUrl")));
}

export async function registerAction(_previous: FormState, formData: FormData): Promise<FormState> {
  const values = { name: formText(formData, "name"), email: formText(formData, "email"), strategy: formText(formData, "strategy") };
  const registration = RegistrationSchema.safeParse({ ...values, password: formText(formData, "password") });
  const strategy = StrategyField.safeParse(values.strategy);
  if (!registration.success || !strategy.success) {
    const fieldErrors: FormState["fieldErrors"] = {};
    for (const issue of registration.error?.issues ?? []) {
      const field = issue.path[0];
      if ((field === "name" || field === "email" || field === "password") && !fieldErrors[field]) fieldErrors[field] = issue.message;
    }
    if (!strategy.success) fieldErrors.strategy = "Choose a session strategy.";
    return { error: "Please correct the highlighted fields.", fieldErrors, values };
  }
  // Every well-formed registration counts against the client's address, taken or not.
  const context = clientContext(await headers());
  const blocked = await limitByIp("register", context);
  if (blocked) return { error: tooManyAttemptsMessage(blocked), values };
  try {
    await createUser(registration.data, context);
    const credentials = { email: registration.data.email, password: registration.data.password, strategy: strategy.data };
    const result = await signIn(credentials, { afterRegistration: true });
    if (!result.ok) return { error: UNAVAILABLE, values };
  } catch (error) {
    if (error instanceof DuplicateEmailError) {
      return { error: "Please correct the highlighted fields.", fieldErrors: { email: "An account with this email already exists." }, values };
    }
    log.error("register.error", { error });
    return { error: UNAVAILABLE, values };
  }
  redirect("/dashboard");
}

export async function signOutAction(): Promise<void> {
  const results = await signOut();
  const revokedOnServer = results.some((result) => result.revokedOnServer);
  redirect(results.length === 0 ? "/login" : `/login?signedOut=${revokedOnServer ? "revoked" : "cookie-only"}`);
}

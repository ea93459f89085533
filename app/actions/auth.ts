"use server";

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { z } from "zod";
import { beginProviderSignIn, currentSignInOrigin, signIn, signOut } from "@/lib/auth";
import { providerLogoutUrl } from "@/lib/auth/rp-logout";
import { securityOutcomePath } from "@/lib/auth/provider-signin";
import { providerName } from "@/lib/auth/providers";
import { formText } from "@/lib/http/form-data";
import { log } from "@/lib/platform/log";
import { startRegistration } from "@/lib/account/registration";
import { tooManyAttemptsMessage } from "@/lib/security/rate-limit";
import { clientContext, isHttps } from "@/lib/security/request";
import { safeRedirectPath } from "@/lib/security/redirect";
import { browserKinds } from "@/lib/strategies";
import { RegistrationSchema } from "@/lib/users/policy";

export type Field = "name" | "email" | "password" | "strategy";

export interface FormState {
  /** Message for the whole form (shown in an alert). */
  error?: string;
  /** Outcome to announce (shown as a status line), e.g. "check your inbox". */
  notice?: string;
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
  // A provider waiting for this password is connected now: the security page says so and lists it.
  if (result.linkedProvider) redirect(securityOutcomePath("connected", result.linkedProvider));
  redirect(safeRedirectPath(formText(formData, "callbackUrl")));
}

/**
 * A provider button of the sign-in or registration form: the session kind
 * chosen on the form goes with the flow (in a signed cookie, see
 * lib/auth/provider-flow.ts), then the browser goes to the provider.
 */
export async function providerSignInAction(boundProvider: unknown, _previous: FormState, formData: FormData): Promise<FormState> {
  // Bound on the page, but a client can send any value: checked against the configured providers.
  const provider = typeof boundProvider === "string" ? boundProvider : "";
  const strategy = formText(formData, "strategy");
  const values = { strategy };
  let result;
  try {
    result = await beginProviderSignIn({ provider, strategy, callbackUrl: safeRedirectPath(formText(formData, "callbackUrl")) });
  } catch (error) {
    log.error("signin.provider_error", { error });
    return { error: UNAVAILABLE, values };
  }
  if (result.ok) redirect(result.url);
  if (result.error === "bad_strategy") return { error: "Choose a session strategy.", fieldErrors: { strategy: "Choose a session strategy." }, values };
  if (result.error === "unknown_provider") return { error: "That sign-in provider is not offered here.", values };
  return { error: `${providerName(provider)} cannot be reached right now. Please try again later, or sign in with your password.`, values };
}

/** The one answer to every valid registration, new address or taken (no enumeration). */
function checkYourInbox(email: string): string {
  return `Check your inbox: we sent a link to ${email} to finish signing up.`;
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
  // From here on, a new and a taken address get the same work, the same answer and no cookie (lib/account/registration.ts).
  try {
    const result = await startRegistration(registration.data, strategy.data, clientContext(await headers()));
    if (result.status === "blocked") return { error: tooManyAttemptsMessage(result.blocked), values };
    return { notice: checkYourInbox(result.email) };
  } catch (error) {
    log.error("register.error", { error });
    return { error: UNAVAILABLE, values };
  }
}

export async function signOutAction(): Promise<void> {
  // Where the session came from, read before sign-out revokes it.
  const origin = await currentSignInOrigin();
  const results = await signOut();
  const revokedOnServer = results.some((result) => result.revokedOnServer);
  // A session from the OpenID Connect provider: the provider's session ends too (RP-initiated logout), and the provider sends the browser back.
  const requestHeaders = await headers();
  const appOrigin = `${isHttps(requestHeaders) ? "https" : "http"}://${requestHeaders.get("x-forwarded-host") ?? requestHeaders.get("host") ?? ""}`;
  const atProvider =
    results.length === 0
      ? null
      : await providerLogoutUrl(origin, appOrigin, revokedOnServer).catch((error: unknown) => {
          // Our sign-out is done; the provider's is extra and never blocks it.
          log.warn("signout.provider_logout_failed", { error });
          return null;
        });
  redirect(atProvider ?? (results.length === 0 ? "/login" : `/login?signedOut=${revokedOnServer ? "revoked" : "cookie-only"}`));
}

import { LoginForm } from "@/app/components/auth-forms";
import { afterResetNotice } from "@/lib/account/recovery";
import { env } from "@/lib/platform/env";
import { revokedTokenFate } from "@/lib/sessions/revocation";
import { safeRedirectPath } from "@/lib/security/redirect";
import { pendingLinkNotice } from "@/lib/auth/provider-link";
import { PROVIDER_ERRORS } from "@/lib/auth/provider-signin";
import { providerButtons } from "@/lib/auth/providers";
import { strategyOptions } from "@/lib/strategies";

/** What sign-out did, as the sign-out action reports it (`?signedOut=`), in words true of this server's configuration. */
function signedOutNotice(outcome: unknown): string | undefined {
  if (outcome === "revoked") return "Signed out. The server revoked your session: the old cookie value is refused from now on.";
  if (outcome === "cookie-only") {
    return `Signed out. Your browser deleted its cookie and the server marked the session revoked, but ${revokedTokenFate(env.JWT_TTL_SECONDS)}.`;
  }
  return undefined;
}

/** Why a provider sign-in came back without a session (`?error=`), in words for the user; generic for anything else. */
function signInError(code: unknown): string | undefined {
  if (typeof code !== "string" || code === "") return undefined;
  switch (code) {
    case PROVIDER_ERRORS.email_in_use:
      return "An account with this email address already exists, so this provider sign-in was refused and nothing was linked. Sign in with your password, then connect the provider from the Security page.";
    case PROVIDER_ERRORS.email_unverified:
      return "The provider did not confirm that this email address is yours, so no account was created. Confirm the address with the provider, or create an account with a password.";
    case PROVIDER_ERRORS.no_email:
      return "The provider did not share an email address, so no account was created.";
    case PROVIDER_ERRORS.flow:
      return "This provider sign-in could not be verified (it expired, or did not start here). Please start again.";
    default:
      return "Sign-in with the provider could not be completed. Please try again.";
  }
}

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { callbackUrl, signedOut, reset, error } = await searchParams;
  const failure = signInError(error);
  const notice = reset === "done" ? afterResetNotice() : signedOutNotice(signedOut);
  // Read from the sealed cookie, not the URL: shown only while a genuine pending link exists.
  const pending = await pendingLinkNotice();
  return (
    <>
      <h1>Sign in</h1>
      {pending && (
        <p className="notice" role="status" data-testid="pending-link">
          An account with the address {pending.email} already exists. Sign in with your password once to connect{" "}
          {pending.provider} to it; after that, {pending.provider} signs you in directly.
        </p>
      )}
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {failure && (
        <p className="alert" role="alert" data-testid="signin-error">
          {failure}
        </p>
      )}
      <LoginForm options={strategyOptions()} providers={providerButtons()} callbackUrl={safeRedirectPath(callbackUrl)} />
      <p>
        Demo account: <code>demo@example.com</code> / <code>demo-password-123</code>
      </p>
    </>
  );
}

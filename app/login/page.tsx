import { LoginForm } from "@/app/components/auth-forms";
import { afterResetNotice } from "@/lib/account/recovery";
import { env } from "@/lib/platform/env";
import { revokedTokenFate } from "@/lib/sessions/revocation";
import { safeRedirectPath } from "@/lib/security/redirect";
import { strategyOptions } from "@/lib/strategies";

/** What sign-out did, as the sign-out action reports it (`?signedOut=`), in words true of this server's configuration. */
function signedOutNotice(outcome: unknown): string | undefined {
  if (outcome === "revoked") return "Signed out. The server revoked your session: the old cookie value is refused from now on.";
  if (outcome === "cookie-only") {
    return `Signed out. Your browser deleted its cookie and the server marked the session revoked, but ${revokedTokenFate(env.JWT_TTL_SECONDS)}.`;
  }
  return undefined;
}

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { callbackUrl, signedOut, reset } = await searchParams;
  const notice = reset === "done" ? afterResetNotice() : signedOutNotice(signedOut);
  return (
    <>
      <h1>Sign in</h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <LoginForm options={strategyOptions()} callbackUrl={safeRedirectPath(callbackUrl)} />
      <p>
        Demo account: <code>demo@example.com</code> / <code>demo-password-123</code>
      </p>
    </>
  );
}

import { LoginForm } from "@/app/components/auth-forms";
import { safeCallbackPath } from "@/lib/security";
import { strategyOptions } from "@/lib/strategies";

const signedOutNotices: Record<string, string> = {
  revoked: "Signed out. The server revoked your session: the old cookie value is refused from now on.",
  "cookie-only":
    "Signed out. Your browser deleted the JWT, but this server trusts tokens until they expire (stateless mode): a copy would still verify until then.",
};

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { callbackUrl, signedOut } = await searchParams;
  const notice = typeof signedOut === "string" ? signedOutNotices[signedOut] : undefined;
  return (
    <>
      <h1>Sign in</h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <LoginForm options={strategyOptions()} callbackUrl={safeCallbackPath(callbackUrl)} />
      <p>
        Demo account: <code>demo@example.com</code> / <code>demo-password-123</code>
      </p>
    </>
  );
}

import Link from "next/link";
import { SignOutButton } from "@/app/components/sign-out-button";
import { SignedInAs } from "@/app/components/signed-in-as";
import { auth } from "@/lib/auth";
import { log } from "@/lib/platform/log";
import { strategyByKind, type Session } from "@/lib/strategies";

/**
 * The header knows the visitor: signed out, Sign in and Register; signed in,
 * who (the name comes from GET /api/me in the browser: see SignedInAs), with
 * which kind of session (the kind's own label), the dashboard and sign-out.
 * It reads the request's session through auth(), the same cached
 * verification the page itself uses, so a page costs no second check; a
 * visitor without a session cookie costs no lookup at all.
 */
export async function SiteHeader() {
  let session: Session | null | undefined;
  try {
    session = await auth();
  } catch (error) {
    // The session store is unreachable: the page itself may still be served (the protected ones
    // are refused by the proxy); the header then claims neither state.
    log.warn("header.session_unavailable", { error });
    session = undefined;
  }
  return (
    <header className="site-header">
      <Link href="/" className="brand">
        Session or Token
      </Link>
      <nav aria-label="Main">
        {session ? (
          <SignedIn session={session} />
        ) : session === null ? (
          <>
            <Link href="/login">Sign in</Link>
            <Link href="/register">Register</Link>
          </>
        ) : (
          <Link href="/dashboard">Dashboard</Link>
        )}
      </nav>
    </header>
  );
}

function SignedIn({ session }: { session: Session }) {
  const strategy = strategyByKind(session.strategy);
  return (
    <>
      {strategy && <SignedInAs strategyKind={strategy.kind} strategyLabel={strategy.label} />}
      <Link href="/dashboard">Dashboard</Link>
      <SignOutButton />
    </>
  );
}

import Link from "next/link";
import { SignOutButton } from "@/app/components/sign-out-button";
import { auth } from "@/lib/auth";
import { log } from "@/lib/platform/log";
import { strategyByKind, type Session } from "@/lib/strategies";

/**
 * The header knows the visitor: signed out, Sign in and Register; signed in,
 * who, with which kind of session (the kind's own label), the dashboard and
 * sign-out. It reads the request's session through auth(), the same cached
 * verification the page itself uses, so a page costs no second check; a
 * visitor without a session cookie costs no lookup at all. A signed-in page
 * whose store does not answer never gets here: the proxy answers 503 first.
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
      <p className="who" data-testid="signed-in-as">
        Signed in as {session.user.name ?? session.user.email}
        {strategy && (
          <>
            <span className="visually-hidden"> with a </span>
            <span className={`strategy-badge ${strategy.kind}`} data-testid="strategy-badge">
              {strategy.label}
            </span>
          </>
        )}
      </p>
      <Link href="/dashboard">Dashboard</Link>
      <SignOutButton />
    </>
  );
}

import "server-only";
import { forbidden, redirect } from "next/navigation";
import { isAdmin } from "@/lib/admin";
import { auth } from "@/lib/auth";
import type { VerifiedSession } from "@/lib/strategies";

/** Digest of the interrupt `forbidden()` throws when `experimental.authInterrupts` is on. */
const FORBIDDEN_DIGEST = "NEXT_HTTP_ERROR_FALLBACK;403";

/**
 * The admin pages' own check (the proxy checks first; this must hold without
 * it): signed out → the sign-in page; signed in without the admin role (read
 * from the database, not the token) → 403. Returns the session of an admin, or
 * null when the caller must render its own "forbidden" content because this
 * build has no `forbidden()` (it needs `experimental.authInterrupts`).
 */
export async function requireAdmin(): Promise<VerifiedSession | null> {
  const session = await auth();
  if (!session) redirect("/login?callbackUrl=%2Fadmin");
  if (await isAdmin(session.user.id)) return session;
  try {
    forbidden();
  } catch (error) {
    if (error instanceof Error && (error as Error & { digest?: unknown }).digest === FORBIDDEN_DIGEST) throw error;
  }
  return null;
}

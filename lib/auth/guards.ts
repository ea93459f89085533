import "server-only";
import { forbidden, redirect } from "next/navigation";
import { loginPath } from "../security/redirect";
import type { Session } from "../strategies";
import { isAdmin } from "../users/roles";
import { auth } from "./index";

/**
 * The check every page and server action makes itself (the proxy checks
 * first; these must hold without it).
 */

/** The signed-in session, or a redirect to the sign-in page that comes back to `path`. */
export async function requireSession(path: string): Promise<Session> {
  const session = await auth();
  if (!session) redirect(loginPath(path));
  return session;
}

/**
 * An administrator's session: signed out → the sign-in page; signed in
 * without the admin role (read from the database, not the token) → 403.
 */
export async function requireAdmin(path: string): Promise<Session> {
  const session = await requireSession(path);
  if (!(await isAdmin(session.user.id))) forbidden();
  return session;
}

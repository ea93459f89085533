import "server-only";
import { queryRows } from "../platform/db";

/**
 * Roles, read from the database on every check, not from the session: a
 * browser JWT carries a `role` claim signed at sign-in, and a user demoted
 * since then must not keep admin rights until it expires. Kept apart from the
 * password code so the proxy can ask without loading argon2.
 */
export const ADMIN_ROLE = "admin";

export async function isAdmin(userId: string): Promise<boolean> {
  // One cached prepared statement on the driver (see queryRows): this runs in the proxy on every /admin request.
  const [user] = await queryRows(`SELECT "role" FROM "User" WHERE "id" = $1`, [userId]);
  return user?.role === ADMIN_ROLE;
}

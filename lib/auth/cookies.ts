/** Attributes of every session cookie: HttpOnly, SameSite=Lax, Path=/, Secure on https (with the `__Host-` name prefix, see lib/strategies). */
export function sessionCookieOptions(https: boolean, expires: Date) {
  return { httpOnly: true, sameSite: "lax" as const, path: "/", secure: https, expires };
}

import { handlers } from "@/lib/auth";
import { publicRoute } from "@/lib/auth/route";

// Auth.js's endpoints (lib/auth/index.ts): the CSRF token, the credentials
// callback, the session read-out, sign-out. Every POST first passes the
// cross-site rule; sign-in replaces the browser's session cookie and sign-out
// ends it, so a cookie without Origin/Sec-Fetch-Site is refused too. Their
// no-store comes from next.config.js.
export const GET = handlers.GET;
export const POST = publicRoute(handlers.POST, { sessionCookie: true });

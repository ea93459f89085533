import "server-only";
import { cookies } from "next/headers";
import { failClosed, unauthorizedResponse } from "../http/responses";
import { strategies, type Session } from "../strategies";
import { presentedToken, sessionFromRequest } from "./request";

/**
 * Every protected route handler goes through this wrapper: the one credential
 * rule with scope "api" (a Bearer token, or a cookie when no Authorization
 * header is sent), 401 without a valid credential, and fail-closed 503 when
 * the session store cannot be reached.
 */
export function withSession(handler: (request: Request, session: Session) => Promise<Response>): (request: Request) => Promise<Response> {
  return failClosed(async (request: Request) => {
    const source = { cookies: await cookies(), headers: request.headers };
    const session = await sessionFromRequest(strategies, "api", source);
    if (!session) return unauthorizedResponse({ tokenPresented: presentedToken("api", source) });
    return handler(request, session);
  });
}

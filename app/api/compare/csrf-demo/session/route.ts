import { NextResponse } from "next/server";
import { publicRoute } from "@/lib/auth/route";
import { errorResponse, failClosed } from "@/lib/http/responses";
import { issueDemoCredentials } from "@/lib/lab/csrf-demo";
import { isHttps, isSameOriginRequest } from "@/lib/security/request";

/**
 * The CSRF demo's credentials for the lab page (/compare): a demo cookie with
 * the real session cookie's attributes, scoped to the demo endpoint, and a
 * demo Bearer token. Never the visitor's session. Same origin only, like the
 * lab's runs; the body is ignored.
 */
export const POST = publicRoute(
  failClosed(async (request: Request) => {
    if (!isSameOriginRequest(request, true)) return errorResponse(403, "forbidden");
    const { cookie, bearer } = await issueDemoCredentials(isHttps(request.headers));
    const response = NextResponse.json({ bearer }, { headers: { "Cache-Control": "no-store" } });
    response.cookies.set(cookie.name, cookie.value, cookie.options);
    return response;
  }),
);

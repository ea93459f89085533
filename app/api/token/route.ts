import { credentialSource, refusesCrossSite } from "@/lib/auth/request";
import { browserSessionOf, publicRoute } from "@/lib/auth/route";
import { currentAuthentication, requireRecentAuthentication } from "@/lib/auth/step-up";
import { errorResponse, failClosed, privateJson, unauthorizedResponse } from "@/lib/http/responses";
import { readJsonBody } from "@/lib/http/body";
import { beginPasswordAttempt, isBlocked, limitByIp, tooManyRequests } from "@/lib/security/rate-limit";
import { clientContext } from "@/lib/security/request";
import { exchangeBrowserSession, issueTokenPair } from "@/lib/strategies/api";
import { CredentialsSchema } from "@/lib/users/policy";
import { authenticateUser } from "@/lib/users/users";

/**
 * Tokens for non-browser clients: JSON {email, password} → access + refresh
 * token. With no body, a signed-in browser (same origin only) exchanges its
 * session for tokens, e.g. to call another service with `Authorization: Bearer`.
 * publicRoute has refused the request already if it came from another site;
 * the exchange, which acts with the session cookie, also refuses one that
 * carries it without saying where it comes from.
 */
export const POST = publicRoute(failClosed(async (request: Request) => {
  const body = await readJsonBody(request);
  const context = clientContext(request.headers);

  if (body.status === "empty" || (body.status === "ok" && isEmptyObject(body.value))) {
    if (refusesCrossSite(request, credentialSource(request).cookies)) return errorResponse(403, "forbidden");
    // The browser's cookie only: a bearer token cannot be exchanged for a new family.
    const session = await browserSessionOf(request);
    if (!session) return unauthorizedResponse();
    // Creating tokens is a sensitive action: the session must have authenticated recently
    // (RFC 9470's challenge). The family carries that session's authentication time, and
    // its sign-in: a back-channel logout of the provider session it came from ends the family too.
    const stepUp = await requireRecentAuthentication(session, "/dashboard", "create_api_tokens");
    if (!stepUp.ok) {
      return privateJson(
        { error: "insufficient_user_authentication", error_description: "Confirm it's you first.", confirm: stepUp.stepUp.confirmPath },
        { status: 401, headers: { "www-authenticate": 'Bearer error="insufficient_user_authentication"' } },
      );
    }
    return privateJson(await exchangeBrowserSession(session, context, await currentAuthentication(session)));
  }

  // A password grant. Every one counts against the client's address, malformed
  // ones too; well-formed ones also against the account (given back on success).
  const input = body.status === "ok" ? CredentialsSchema.safeParse(body.value) : null;
  if (!input?.success) {
    const blocked = await limitByIp("token", context);
    return blocked ? tooManyRequests(blocked) : errorResponse(400, "invalid_request");
  }
  const attempt = await beginPasswordAttempt("token", input.data.email, context);
  if (isBlocked(attempt)) return tooManyRequests(attempt);
  const user = await authenticateUser(input.data.email, input.data.password, { via: "token", context });
  if (!user) return errorResponse(401, "invalid_grant");
  await attempt.succeeded();
  const now = new Date();
  return privateJson(await issueTokenPair(user, context, now, { time: now, methods: ["pwd"] }));
}));

function isEmptyObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

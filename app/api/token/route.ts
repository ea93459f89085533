import { auth } from "@/lib/auth";
import { errorResponse, privateJson, readJsonBody, unauthorizedResponse } from "@/lib/http";
import { clientContext, isSameOriginRequest } from "@/lib/security";
import { issueTokenPair } from "@/lib/token-families";
import { CredentialsSchema, authenticateUser } from "@/lib/users";

/**
 * Tokens for non-browser clients: JSON {email, password} → access + refresh
 * token. With no body, a signed-in browser (same origin only) exchanges its
 * session for tokens, e.g. to call another service with `Authorization: Bearer`.
 */
export async function POST(request: Request) {
  const body = await readJsonBody(request);
  const context = clientContext(request.headers);

  if (body.status === "empty" || (body.status === "ok" && isEmptyObject(body.value))) {
    if (!isSameOriginRequest(request)) return errorResponse(403, "forbidden");
    const session = await auth();
    if (!session || session.via === "bearer") return unauthorizedResponse();
    return privateJson(await issueTokenPair(session.user, context));
  }

  if (body.status !== "ok") return errorResponse(400, "invalid_request");
  const input = CredentialsSchema.safeParse(body.value);
  if (!input.success) return errorResponse(400, "invalid_request");
  const user = await authenticateUser(input.data.email, input.data.password);
  if (!user) return errorResponse(401, "invalid_grant");
  return privateJson(await issueTokenPair(user, context));
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

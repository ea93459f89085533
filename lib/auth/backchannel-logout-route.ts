import "server-only";
import { readSubmittedFields } from "../http/body";
import { errorResponse } from "../http/responses";
import { log } from "../platform/log";
import { audit } from "../security/audit";
import { clientContext } from "../security/request";
import { findSessionById, revokeProviderSessions } from "../sessions/store";
import { verifyLogoutToken } from "./backchannel-logout";

/** The reason recorded on sessions a provider's logout token ended. */
export const BACKCHANNEL_REASON = "backchannel_logout";

/** The handler of POST /api/oidc/backchannel-logout (app/api/oidc/backchannel-logout/route.ts). */
export async function backchannelLogout(request: Request): Promise<Response> {
  const context = clientContext(request.headers);
  // The spec's encoding only (§2.5): a form body with the one parameter.
  const type = request.headers.get("content-type") ?? "";
  const fields = type.toLowerCase().startsWith("application/x-www-form-urlencoded") ? await readSubmittedFields(request) : null;
  const token = fields?.logout_token;
  if (typeof token !== "string" || token.length === 0 || token.length > 8192) return refused("malformed");
  const claims = await verifyLogoutToken(token);
  if (!claims.ok) return refused(claims.reason);
  const now = new Date();
  const revoked = await revokeProviderSessions({ issuer: claims.issuer, sid: claims.sid, subject: claims.sub }, BACKCHANNEL_REASON, now);
  for (const id of revoked) {
    const session = await findSessionById(id);
    await audit("session.revoked", {
      userId: session?.user.id ?? null,
      context,
      detail: { reason: BACKCHANNEL_REASON, sessionId: id, strategy: session?.strategy ?? null, issuer: claims.issuer, by: claims.sid ? "sid" : "sub" },
    });
  }
  log.info("backchannel_logout.accepted", { revoked: revoked.length, by: claims.sid ? "sid" : "sub" });
  return new Response(null, { status: 200, headers: { "Cache-Control": "no-store" } });
}

function refused(reason: string): Response {
  log.warn("backchannel_logout.refused", { reason });
  return errorResponse(400, "invalid_request");
}

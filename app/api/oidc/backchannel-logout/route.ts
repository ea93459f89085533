import { backchannelLogout } from "@/lib/auth/backchannel-logout-route";
import { publicRoute } from "@/lib/auth/route";
import { failClosed } from "@/lib/http/responses";

/**
 * OpenID Connect Back-Channel Logout: the provider (server to server, no
 * browser, no cookie) posts `logout_token`; 200 once our sessions from that
 * provider session are revoked, 400 {"error":"invalid_request"} for anything
 * refused (nothing is revoked then).
 */
export const POST = publicRoute(failClosed(backchannelLogout));

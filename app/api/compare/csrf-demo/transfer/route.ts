import { publicRoute } from "@/lib/auth/route";
import { failClosed } from "@/lib/http/responses";
import { transferAnswer } from "@/lib/lab/csrf-demo";

/**
 * The CSRF demo's state-changing endpoint: a made-up transfer that only the
 * demo's credentials authorize (lib/lab/csrf-demo.ts). The cross-site rule is
 * publicRoute's, as on every real route; its refusal, like every answer here,
 * says which defence decided, readable by the demo's pages (CORS for those
 * origins only).
 */
export const POST = publicRoute(failClosed(transferAnswer), { sessionCookie: true, refusal: transferAnswer });

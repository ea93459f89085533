import { publicRoute } from "@/lib/auth/route";
import { readJsonBody } from "@/lib/http/body";
import { errorResponse, failClosed } from "@/lib/http/responses";
import { RunInputSchema, admitRun } from "@/lib/lab";
import { loopbackOrigin } from "@/lib/lab/loopback";
import { log } from "@/lib/platform/log";
import { limitByIp, tooManyRequests } from "@/lib/security/rate-limit";
import { clientContext, isHttps, isSameOriginRequest } from "@/lib/security/request";

/** A run's body is `{"experiment":"…"}`: a few dozen bytes. */
const MAX_BODY_BYTES = 1024;
/** What a refused run is told to wait: a run takes seconds, "Run all" under a minute. */
const RETRY_AFTER_CLIENT_BUSY_SECONDS = 10;
const RETRY_AFTER_SERVER_BUSY_SECONDS = 30;

/**
 * The comparison lab (/compare): runs one experiment and streams its progress
 * and result as newline-delimited JSON. Public — the lab uses throwaway
 * accounts of its own, never the caller's session — but same-origin only:
 * publicRoute refuses cross-site requests, and a request that does not say
 * where it comes from is refused too (as if it carried a session cookie),
 * because only this app's page has a reason to start a run, and a run makes
 * the server work. Every run counts against the client's address (fail closed:
 * no counter store, no run); one address runs one at a time (429 while its run
 * goes on), and a server with MAX_RUNS_ADMITTED runs under way answers 503.
 */
export const POST = publicRoute(
  failClosed(async (request: Request) => {
    if (!isSameOriginRequest(request, true)) return errorResponse(403, "forbidden");
    const context = clientContext(request.headers);
    const blocked = await limitByIp("compare", context);
    if (blocked) return tooManyRequests(blocked);
    const body = await readJsonBody(request, MAX_BODY_BYTES);
    const input = body.status === "ok" ? RunInputSchema.safeParse(body.value) : null;
    if (!input?.success) return errorResponse(400, "invalid_request");
    const origin = loopbackOrigin(request.headers);
    if (!origin) {
      // Only server.mjs says where this process listens on loopback (`next dev` or `next start` do not).
      log.warn("lab.no_loopback_origin");
      return errorResponse(503, "unavailable");
    }
    // Without server.mjs's client address every caller is the same client: one run at a time for all of them.
    const run = admitRun(context.ip ?? "unknown", input.data.experiment, { origin, https: isHttps(request.headers), context });
    if (!run.admitted) {
      return run.reason === "client-busy"
        ? errorResponse(429, "run_in_progress", { "Retry-After": String(RETRY_AFTER_CLIENT_BUSY_SECONDS) })
        : errorResponse(503, "busy", { "Retry-After": String(RETRY_AFTER_SERVER_BUSY_SECONDS) });
    }
    return new Response(run.stream, {
      // no-transform: a compressing layer would hold the progress lines back until it had enough to compress.
      headers: { "Content-Type": "application/x-ndjson; charset=utf-8", "Cache-Control": "no-store, no-transform" },
    });
  }),
);

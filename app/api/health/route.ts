import { feedStatus } from "@/lib/sessions/feed";

// Unprotected on purpose: liveness probe, and the baseline `npm run bench` compares against.
// In pushed revocation mode it also says whether this instance's revocation feed is
// live (a load balancer or the cluster tests can see an instance falling back to reads).
export const dynamic = "force-dynamic";

export function GET() {
  const feed = feedStatus();
  const body = feed ? { ok: true, revocationFeed: { live: feed.live, fallbacks: feed.fallbacks } } : { ok: true };
  return Response.json(body, { headers: { "Cache-Control": "no-store" } });
}

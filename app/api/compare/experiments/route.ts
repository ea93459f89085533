import { publicRoute } from "@/lib/auth/route";
import { experimentSummaries } from "@/lib/lab";

/**
 * The comparison lab's experiments (id, title, claim), in the page's order:
 * what `npm run compare` runs one by one through POST /api/compare/run.
 * Public, like the page that lists the same.
 */
export const GET = publicRoute(async () => Response.json({ experiments: experimentSummaries() }, { headers: { "Cache-Control": "no-store" } }));

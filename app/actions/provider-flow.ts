import "server-only";
import { redirect } from "next/navigation";
import { beginBoundProviderFlow } from "@/lib/auth";
import { providerName } from "@/lib/auth/providers";
import { log } from "@/lib/platform/log";
import type { Session } from "@/lib/strategies";

const UNAVAILABLE = "Something went wrong. Please try again.";

/**
 * What the "Connect <provider>" and "Confirm with <provider>" actions share:
 * start a flow bound to this session and send the browser to the provider,
 * or say why not. `boundProvider` was bound on the page, but a client can send
 * any value: it is checked against the configured providers.
 */
export async function redirectToBoundProviderFlow(kind: "link" | "confirm", session: Session, boundProvider: unknown, returnTo: string): Promise<{ error: string }> {
  const provider = typeof boundProvider === "string" ? boundProvider : "";
  let result;
  try {
    result = await beginBoundProviderFlow(kind, session, provider, returnTo);
  } catch (error) {
    log.error("provider.flow_start_failed", { kind, error });
    return { error: UNAVAILABLE };
  }
  if (result.ok) redirect(result.url);
  if (result.error === "unavailable") return { error: `${providerName(provider)} cannot be reached right now. Please try again later.` };
  if (result.error === "cannot_confirm") return { error: `${providerName(provider)} cannot confirm it's you here.` };
  return { error: "That sign-in provider is not offered here." };
}

import "server-only";
import { AsyncLocalStorage } from "node:async_hooks";
import { cookies, headers } from "next/headers";
import { resolveProviderAccount, type ProviderRefusal } from "../account/provider-accounts";
import { z } from "zod";
import { log } from "../platform/log";
import type { Authentication } from "../sessions/store";
import { audit } from "../security/audit";
import { clientContext, isHttps, type ClientContext } from "../security/request";
import { isBrowserKind, strategyByKind } from "../strategies";
import { keyRing } from "../tokens/keys";
import { startBrowserSession } from "./browser-session";
import { flowCookieName, flowCookieOptions, openFlowChoice, sealFlowChoice, type FlowChoice } from "./provider-flow";
import { verifyIdTokenSignature, type IdTokenCheck } from "./id-token";
import { identityFrom, idTokenExpectations, isConfiguredProvider, providerButtons } from "./providers";
import { rememberIdTokenHint } from "./rp-logout";

/**
 * Provider sign-in around Auth.js: the flow starts in a server action (the
 * form's provider button), which has Auth.js build the authorization request
 * (its PKCE, state and nonce cookies) and adds the signed flow cookie with the
 * chosen session kind (./provider-flow.ts). The provider sends the browser back
 * to GET /api/auth/callback/<id>: the flow cookie is checked against the
 * returned `state` and cleared before Auth.js runs; Auth.js checks the code
 * exchange, PKCE, state, nonce and the ID token's claims; its `signIn`
 * callback then checks the ID token's signature (./id-token.ts), resolves the
 * account (lib/account/provider-accounts.ts) and starts our session of the
 * chosen kind, recording the issuer, subject and provider session id on it.
 */

/**
 * Codes in /login?error=… that this module produces; the login page words
 * each (an ID token refused here, like one Auth.js refused, with the words
 * every provider sign-in that could not be completed gets).
 */
export const PROVIDER_ERRORS = {
  flow: "provider_flow",
  id_token: "provider_id_token",
  email_in_use: "provider_email_in_use",
  email_unverified: "provider_email_unverified",
  no_email: "provider_no_email",
} as const satisfies Record<"flow" | "id_token" | ProviderRefusal, string>;

const flowStore = new AsyncLocalStorage<FlowChoice>();

export type StartResult = { ok: true; url: string } | { ok: false; error: "unknown_provider" | "bad_strategy" | "unavailable" };

/**
 * Has Auth.js build the authorization request for `provider` and sets the flow
 * cookie bound to it. `begin` is Auth.js's signIn (raw: it returns the
 * provider's authorization URL after setting its check cookies).
 */
export async function startProviderSignIn(
  input: { provider: string; strategy: string },
  begin: (provider: string) => Promise<string>,
): Promise<StartResult> {
  if (!isConfiguredProvider(input.provider)) return { ok: false, error: "unknown_provider" };
  if (!isBrowserKind(input.strategy)) return { ok: false, error: "bad_strategy" };
  let url: URL;
  try {
    url = new URL(await begin(input.provider));
  } catch (error) {
    // Discovery or the request to build failed: the provider is down or misconfigured.
    log.warn("signin.provider_unavailable", { provider: input.provider, error: error instanceof Error ? error.message : String(error) });
    return { ok: false, error: "unavailable" };
  }
  const state = url.searchParams.get("state");
  // Auth.js answers a failure with a link to its error page instead of the provider's endpoint.
  if (!state) {
    log.warn("signin.provider_unavailable", { provider: input.provider, error: "no authorization request was built" });
    return { ok: false, error: "unavailable" };
  }
  const [jar, requestHeaders, keys] = await Promise.all([cookies(), headers(), keyRing()]);
  const https = isHttps(requestHeaders);
  jar.set(flowCookieName(https), sealFlowChoice({ strategy: input.strategy, provider: input.provider }, state, keys.authSecret), flowCookieOptions(https));
  return { ok: true, url: url.toString() };
}

/** The provider id of GET /api/auth/callback/<id> for a configured provider, else null. */
export function providerCallbackId(request: Request): string | null {
  if (request.method !== "GET") return null;
  const segments = new URL(request.url).pathname.slice("/api/auth".length).split("/").filter(Boolean);
  if (segments.length !== 2 || segments[0] !== "callback") return null;
  return isConfiguredProvider(segments[1]!) ? segments[1]! : null;
}

/**
 * The provider's callback: without a genuine flow cookie for this `state`, the
 * browser goes to the sign-in page with a refusal and Auth.js never runs. The
 * flow cookie is cleared on every answer.
 */
export async function handleProviderCallback(request: Request, provider: string, next: (request: Request) => Promise<Response>): Promise<Response> {
  const https = isHttps(request.headers);
  const name = flowCookieName(https);
  const jar = await cookies();
  const value = jar.get(name)?.value;
  jar.delete(name);
  const state = new URL(request.url).searchParams.get("state");
  const choice = openFlowChoice(value, { state, provider }, (await keyRing()).authSecret);
  if (!choice) {
    log.warn("signin.provider_flow_refused", { provider, cookie: value ? "invalid" : "missing" });
    await audit("signin.failed", { context: clientContext(request.headers), detail: { reason: "flow_refused", method: "oidc", provider } });
    return new Response(null, { status: 303, headers: { location: `/login?error=${PROVIDER_ERRORS.flow}`, "cache-control": "no-store" } });
  }
  return flowStore.run(choice, () => next(asStartedAt(request)));
}

/**
 * The callback as addressed by the browser. The code exchange must send the
 * provider the same redirect_uri as the authorization request, which Auth.js
 * built in the server action from the forwarded host and protocol (its
 * createActionURL); the URL a route handler is given names the server's own
 * listening host instead. A host that does not match the registered
 * redirect_uri only makes the exchange fail.
 */
function asStartedAt(request: Request): Request {
  const host = request.headers.get("x-forwarded-host") ?? request.headers.get("host");
  if (!host) return request;
  const protocol = (request.headers.get("x-forwarded-proto") ?? "https").split(",")[0]!.trim().replace(/:$/, "");
  const url = new URL(request.url);
  try {
    return new Request(new URL(`${url.pathname}${url.search}`, `${protocol}://${host}`), request);
  } catch {
    return request;
  }
}

/**
 * Auth.js's `signIn` callback for provider sign-ins: true when our session was
 * started, else where to send the browser (a refusal on the sign-in page).
 */
export async function finishProviderSignIn(providerId: string, providerType: string, profile: unknown, idToken?: string): Promise<true | string> {
  const flow = flowStore.getStore();
  // Reached without the checked flow cookie (a POST to the callback, a path around the GET wrapper): refuse.
  if (!flow || flow.provider !== providerId) return `/login?error=${PROVIDER_ERRORS.flow}`;
  const context = clientContext(await headers());
  // Before anything is done with what the ID token says: its signature (./id-token.ts).
  const refused = await refusedIdToken(providerId, idToken, context);
  if (refused) return refused;
  const strategy = strategyByKind(flow.strategy);
  const identity = identityFrom(providerId, profile);
  if (!strategy || !identity) {
    log.warn("signin.provider_profile_refused", { provider: providerId });
    return `/login?error=${PROVIDER_ERRORS.flow}`;
  }
  const result = await resolveProviderAccount(identity, providerType, context);
  if (!result.ok) return `/login?error=${PROVIDER_ERRORS[result.reason]}`;
  const origin = { method: "oidc", issuer: identity.issuer, subject: identity.subject, providerSessionId: identity.providerSessionId } as const;
  await startBrowserSession(result.user, strategy, origin, providerAuthentication(profile));
  // Kept server-side as the hint for ending the provider session at sign-out (./rp-logout.ts).
  await rememberIdTokenHint(origin, idToken);
  await audit("signin.succeeded", {
    userId: result.user.id,
    context,
    detail: { method: "oidc", provider: providerId, issuer: identity.issuer, newAccount: result.created },
  });
  return true;
}

/**
 * Null when the provider sends no ID token (OAuth 2) or its ID token is signed
 * by the provider's published keys and names its issuer and our client id;
 * otherwise the sign-in page with a refusal. A provider whose keys cannot be
 * fetched right now refuses too (fail closed).
 */
async function refusedIdToken(providerId: string, idToken: string | undefined, context: ClientContext): Promise<string | null> {
  const expected = idTokenExpectations(providerId);
  if (!expected) return null;
  let check: IdTokenCheck;
  try {
    check = await verifyIdTokenSignature(idToken, expected);
  } catch (error) {
    log.warn("signin.provider_unavailable", { provider: providerId, error: error instanceof Error ? error.message : String(error) });
    return `/login?error=${PROVIDER_ERRORS.id_token}`;
  }
  if (check.ok) return null;
  // Not a client's mistake: the token endpoint's answer was forged or altered, or the provider is misconfigured.
  log.error("signin.provider_id_token_refused", { provider: providerId, issuer: expected.issuer, reason: check.reason });
  await audit("signin.failed", { context, detail: { reason: "id_token_refused", method: "oidc", provider: providerId, check: check.reason } });
  return `/login?error=${PROVIDER_ERRORS.id_token}`;
}

const AuthenticationClaims = z.object({
  auth_time: z.number().int().positive(),
  amr: z.array(z.string().max(64)).max(16).optional(),
});

/**
 * When and how the provider says the user authenticated (the ID token's
 * `auth_time` and `amr`), or null when it does not say. A time in the future
 * is not believed (the sign-in time is used instead).
 */
export function providerAuthentication(profile: unknown, now = new Date()): Authentication | null {
  const parsed = AuthenticationClaims.safeParse(profile);
  if (!parsed.success) return null;
  const time = new Date(parsed.data.auth_time * 1000);
  if (time.getTime() > now.getTime() + 5000) return null;
  return { time, methods: parsed.data.amr ?? [] };
}

/** The display name of a configured provider (for messages). */
export function providerName(id: string): string {
  return providerButtons().find((button) => button.id === id)?.name ?? "The provider";
}

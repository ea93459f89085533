import "server-only";
import { AsyncLocalStorage } from "node:async_hooks";
import { cookies, headers } from "next/headers";
import { resolveProviderAccount, type ProviderRefusal } from "../account/provider-accounts";
import { z } from "zod";
import { log } from "../platform/log";
import type { Authentication } from "../sessions/store";
import { audit } from "../security/audit";
import { safeRedirectPath } from "../security/redirect";
import { clientContext, isHttps, type ClientContext } from "../security/request";
import { isBrowserKind, strategyByKind, type Session } from "../strategies";
import { keyRing } from "../tokens/keys";
import { identityOwner } from "../users/identities";
import { startBrowserSession } from "./browser-session";
import { verifyIdTokenSignature, type IdTokenCheck } from "./id-token";
import { connectIdentity, PENDING_LINK_PATH, rememberPendingLink } from "./provider-link";
import {
  FLOW_COOKIE,
  openFlowChoice,
  providerCookieDeletion,
  providerCookieName,
  providerCookieOptions,
  sealFlowChoice,
  type FlowChoice,
  type FlowPurpose,
} from "./provider-flow";
import { identityFrom, idTokenExpectations, isConfiguredProvider, reauthenticationParams, type ProviderIdentity } from "./providers";
import { rememberIdTokenHint } from "./rp-logout";
import { confirmPathFor, recordConfirmation } from "./step-up";

/**
 * Provider flows around Auth.js: a flow starts in a server action (a provider
 * button), which has Auth.js build the authorization request (its PKCE, state
 * and nonce cookies) and adds the sealed flow cookie saying what the flow is
 * for (./provider-flow.ts): a sign-in with the session kind chosen on the
 * form, connecting the provider to the signed-in account ("link"), or
 * confirming it's you through it ("confirm"). The provider sends the browser
 * back to GET /api/auth/callback/<id>: the flow cookie is checked against the
 * returned `state` and cleared before Auth.js runs; Auth.js checks the code
 * exchange, PKCE, state, nonce and the ID token's claims; its `signIn`
 * callback then checks the ID token's signature (./id-token.ts) and finishes
 * the flow here:
 * - sign-in: resolves the account (lib/account/provider-accounts.ts) and
 *   starts our session of the chosen kind, recording the issuer, subject and
 *   provider session id on it; an identity whose verified email an account
 *   uses waits for the password instead (./provider-link.ts);
 * - link and confirm: only for the browser session that started the flow,
 *   which stays as it is (no session is started or replaced).
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

/**
 * Codes in ?providerError=… on the security page (connecting) and the confirm
 * page (confirming); each page words them.
 */
export type ProviderFlowError =
  /** The identity signs in to another account. */
  | "identity_in_use"
  /** Confirming: the identity is not one linked to this account. */
  | "not_linked"
  /** Confirming: the provider did not say the user signed in again after the confirmation started. */
  | "not_fresh";

export const SECURITY_PATH = "/dashboard/security";

/** What the security page reports after an action (`?done=`), with the configured provider it concerns. */
export type SecurityOutcome = "connected" | "disconnected" | "password_set";

export function securityOutcomePath(done: SecurityOutcome, provider?: string | null): string {
  return `${SECURITY_PATH}?done=${done}${provider ? `&provider=${encodeURIComponent(provider)}` : ""}`;
}

interface FlowContext {
  choice: FlowChoice;
  /** The browser session of the request, for flows bound to one. */
  session: () => Promise<Session | null>;
}

const flowStore = new AsyncLocalStorage<FlowContext>();

export type StartResult = { ok: true; url: string } | { ok: false; error: "unknown_provider" | "bad_strategy" | "unavailable" | "cannot_confirm" };

/**
 * Has Auth.js build the authorization request for `provider` and sets the flow
 * cookie bound to it. `begin` is Auth.js's signIn (raw: it returns the
 * provider's authorization URL after setting its check cookies), given the
 * authorization parameters to add.
 */
export async function startProviderFlow(
  provider: string,
  purpose: FlowPurpose,
  begin: (provider: string, authorizationParams: Record<string, string>) => Promise<string>,
): Promise<StartResult> {
  if (!isConfiguredProvider(provider)) return { ok: false, error: "unknown_provider" };
  if (purpose.kind === "signin" && !isBrowserKind(purpose.strategy)) return { ok: false, error: "bad_strategy" };
  // Confirming needs a fresh sign-in at the provider, and its word for when it happened. Connecting asks
  // for one too where the provider takes it: a provider session already open in this browser (perhaps
  // someone else's) is not taken as the proof.
  const reauthentication = reauthenticationParams(provider);
  if (purpose.kind === "confirm" && !reauthentication) return { ok: false, error: "cannot_confirm" };
  const params = purpose.kind === "signin" ? {} : (reauthentication ?? {});
  let url: URL;
  try {
    url = new URL(await begin(provider, params));
  } catch (error) {
    // Discovery or the request to build failed: the provider is down or misconfigured.
    log.warn("signin.provider_unavailable", { provider, error: error instanceof Error ? error.message : String(error) });
    return { ok: false, error: "unavailable" };
  }
  const state = url.searchParams.get("state");
  // Auth.js answers a failure with a link to its error page instead of the provider's endpoint.
  if (!state) {
    log.warn("signin.provider_unavailable", { provider, error: "no authorization request was built" });
    return { ok: false, error: "unavailable" };
  }
  const [jar, requestHeaders, keys] = await Promise.all([cookies(), headers(), keyRing()]);
  const https = isHttps(requestHeaders);
  jar.set(providerCookieName(FLOW_COOKIE, https), sealFlowChoice({ provider, purpose }, state, keys.authSecret), providerCookieOptions(https));
  return { ok: true, url: url.toString() };
}

/** The purpose of a flow bound to the signed-in session (connecting, confirming); null without a session id to bind to. */
export function boundPurpose(kind: "link" | "confirm", session: Session, returnTo: string): FlowPurpose | null {
  if (!session.sessionId) return null;
  return { kind, userId: session.user.id, sessionId: session.sessionId, returnTo: safeRedirectPath(returnTo) };
}

/** The provider id of GET /api/auth/callback/<id> for a configured provider, else null. */
export function providerCallbackId(request: Request): string | null {
  if (request.method !== "GET") return null;
  const segments = new URL(request.url).pathname.slice("/api/auth".length).split("/").filter(Boolean);
  if (segments.length !== 2 || segments[0] !== "callback") return null;
  return isConfiguredProvider(segments[1]!) ? segments[1]! : null;
}

const refusedFlow = () => new Response(null, { status: 303, headers: { location: `/login?error=${PROVIDER_ERRORS.flow}`, "cache-control": "no-store" } });

/**
 * The provider's callback: without a genuine flow cookie for this `state`, the
 * browser goes to the sign-in page with a refusal and Auth.js never runs. The
 * flow cookie is cleared on every answer. `session`: the request's browser
 * session, read only by flows bound to one.
 */
export async function handleProviderCallback(
  request: Request,
  provider: string,
  next: (request: Request) => Promise<Response>,
  session: () => Promise<Session | null>,
): Promise<Response> {
  const https = isHttps(request.headers);
  const name = providerCookieName(FLOW_COOKIE, https);
  const jar = await cookies();
  const value = jar.get(name)?.value;
  jar.delete(providerCookieDeletion(name, https));
  const state = new URL(request.url).searchParams.get("state");
  const choice = openFlowChoice(value, { state, provider }, (await keyRing()).authSecret);
  if (!choice) {
    log.warn("signin.provider_flow_refused", { provider, cookie: value ? "invalid" : "missing" });
    await audit("signin.failed", { context: clientContext(request.headers), detail: { reason: "flow_refused", method: "oidc", provider } });
    return refusedFlow();
  }
  return flowStore.run({ choice, session }, () => next(asStartedAt(request)));
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
 * Auth.js's `signIn` callback for provider flows: true when our session was
 * started, else where to send the browser (a refusal, the sign-in page for
 * the password, or back to the page a link or confirmation came from).
 */
export async function finishProviderSignIn(providerId: string, providerType: string, profile: unknown, idToken?: string): Promise<true | string> {
  const flow = flowStore.getStore();
  // Reached without the checked flow cookie (a POST to the callback, a path around the GET wrapper): refuse.
  if (!flow || flow.choice.provider !== providerId) return `/login?error=${PROVIDER_ERRORS.flow}`;
  const context = clientContext(await headers());
  // Before anything is done with what the ID token says, whatever the flow is for: its signature (./id-token.ts).
  const refused = await refusedIdToken(providerId, idToken, context);
  if (refused) return refused;
  const identity = identityFrom(providerId, profile);
  if (!identity) {
    log.warn("signin.provider_profile_refused", { provider: providerId });
    return `/login?error=${PROVIDER_ERRORS.flow}`;
  }
  const { purpose } = flow.choice;
  if (purpose.kind === "signin") return finishSignIn(purpose.strategy, providerId, providerType, identity, profile, idToken, context);
  // Bound to the session that started it: a session signed out, replaced or of another account meanwhile gets nothing.
  const session = await flow.session();
  if (!session || session.user.id !== purpose.userId || session.sessionId !== purpose.sessionId) {
    log.warn("signin.provider_flow_session_mismatch", { provider: providerId, purpose: purpose.kind });
    return `/login?error=${PROVIDER_ERRORS.flow}`;
  }
  if (purpose.kind === "link") {
    const linked = await connectIdentity(session.user.id, identity, providerType, "security_page", context);
    return linked.ok ? securityOutcomePath("connected", providerId) : `${SECURITY_PATH}?providerError=identity_in_use`;
  }
  return finishConfirmation(session, identity, profile, flow.choice.startedAt, purpose.returnTo);
}

async function finishSignIn(
  kind: string,
  providerId: string,
  providerType: string,
  identity: ProviderIdentity,
  profile: unknown,
  idToken: string | undefined,
  context: ClientContext,
): Promise<true | string> {
  const strategy = strategyByKind(kind);
  if (!strategy) return `/login?error=${PROVIDER_ERRORS.flow}`;
  const result = await resolveProviderAccount(identity, providerType, context);
  if (!result.ok) {
    if (result.reason !== "email_in_use" || !result.owner) return `/login?error=${PROVIDER_ERRORS[result.reason]}`;
    // The provider verified an address an account uses: the link waits for that account's password.
    const { issuer, subject } = identity;
    await rememberPendingLink({ provider: providerId, type: providerType, issuer, subject, email: result.owner.email, userId: result.owner.id });
    return PENDING_LINK_PATH;
  }
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

/** Clock difference tolerated between the provider's `auth_time` and this server's start of the flow. */
const CLOCK_TOLERANCE_MS = 5000;

/**
 * Whether the provider's statement (`auth_time`) is of a sign-in after the
 * confirmation started at `startedAt` (ms): not one from a provider session
 * that was already open. No statement: no.
 */
export function authenticatedSince(authentication: Authentication | null, startedAt: number): authentication is Authentication {
  return authentication !== null && authentication.time.getTime() >= startedAt - CLOCK_TOLERANCE_MS;
}

/**
 * "Confirm it's you" through the provider: the identity must be one linked to
 * the signed-in account, and the provider must say (the ID token's
 * `auth_time`) that the user signed in after this confirmation started. Then
 * the session's authentication moves to that time, with the provider's `amr`.
 */
async function finishConfirmation(session: Session, identity: ProviderIdentity, profile: unknown, startedAt: number, returnTo: string): Promise<string> {
  const refused = (code: ProviderFlowError) => `${confirmPathFor(returnTo)}&providerError=${code}`;
  if ((await identityOwner(identity))?.id !== session.user.id) {
    log.warn("step_up.provider_refused", { userId: session.user.id, reason: "not_linked" });
    return refused("not_linked");
  }
  const authentication = providerAuthentication(profile);
  if (!authenticatedSince(authentication, startedAt)) {
    log.warn("step_up.provider_refused", { userId: session.user.id, reason: "not_fresh" });
    return refused("not_fresh");
  }
  if (!(await recordConfirmation(session, authentication, { method: "oidc", issuer: identity.issuer }))) return "/login?signedOut=revoked";
  return safeRedirectPath(returnTo);
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

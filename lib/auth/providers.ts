import "server-only";
import type { Provider } from "next-auth/providers";
import GitHub from "next-auth/providers/github";
import Google from "next-auth/providers/google";
import { z } from "zod";
import { env } from "../platform/env";

/**
 * The identity providers this server offers, from the environment
 * (lib/platform/env.ts): a generic OpenID Connect provider (OIDC_*), GitHub
 * (AUTH_GITHUB_*), Google (AUTH_GOOGLE_*). Each one unset is simply absent: no
 * button, no endpoint. Every flow is the authorization code flow with PKCE and
 * state; the OpenID Connect ones also bind the ID token to the flow (nonce).
 */

export interface ProviderButton {
  id: string;
  name: string;
}

/** What a provider told us about the person, once Auth.js has checked the response. */
export interface ProviderIdentity {
  issuer: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  /** `sid` of the ID token: the provider's session, for back-channel logout. */
  providerSessionId: string | null;
}

const GITHUB_ISSUER = "https://github.com";
const GOOGLE_ISSUER = "https://accounts.google.com";

/** A configured provider and what this app needs to know about it beyond Auth.js's configuration. */
interface ConfiguredProvider {
  provider: Provider;
  /** The issuer its identities carry (the ID token's `iss`): how a stored identity is matched to it. */
  issuer: string;
  /**
   * The authorization parameters that make the provider authenticate the
   * user again, for "Confirm it's you"; null when it cannot be asked to and
   * say when it did (no ID token, so no `auth_time`: GitHub).
   */
  reauthentication: Record<string, string> | null;
}

const OidcClaims = z.object({
  iss: z.string().min(1).max(2048),
  sub: z.string().min(1).max(255),
  email: z.string().max(320).optional(),
  email_verified: z.union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")]).optional(),
  name: z.string().max(200).optional(),
  sid: z.string().min(1).max(255).optional(),
});

const GitHubProfile = z.object({
  id: z.union([z.number().int(), z.string().regex(/^\d+$/)]),
  login: z.string().max(100),
  name: z.string().max(200).nullish(),
  email: z.string().max(320).nullish(),
  email_verified: z.boolean().optional(),
});

const GitHubEmails = z.array(z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }));

function configured(): ConfiguredProvider[] {
  const providers: ConfiguredProvider[] = [];
  if (env.OIDC_ISSUER && env.OIDC_CLIENT_ID && env.OIDC_CLIENT_SECRET) {
    const provider: Provider = {
      id: "oidc",
      name: env.OIDC_NAME,
      type: "oidc",
      issuer: env.OIDC_ISSUER,
      clientId: env.OIDC_CLIENT_ID,
      clientSecret: env.OIDC_CLIENT_SECRET,
      authorization: { params: { scope: "openid email profile" } },
      checks: ["pkce", "state", "nonce"],
    };
    // max_age=0: the ID token must then carry auth_time; prompt=login: sign in again even within max_age's second.
    providers.push({ provider, issuer: env.OIDC_ISSUER, reauthentication: { max_age: "0", prompt: "login" } });
  }
  if (env.AUTH_GOOGLE_ID && env.AUTH_GOOGLE_SECRET) {
    const provider = Google({ clientId: env.AUTH_GOOGLE_ID, clientSecret: env.AUTH_GOOGLE_SECRET, checks: ["pkce", "state", "nonce"] });
    // Google takes max_age but not prompt=login.
    providers.push({ provider, issuer: GOOGLE_ISSUER, reauthentication: { max_age: "0" } });
  }
  if (env.AUTH_GITHUB_ID && env.AUTH_GITHUB_SECRET) {
    const provider = GitHub({
      clientId: env.AUTH_GITHUB_ID,
      clientSecret: env.AUTH_GITHUB_SECRET,
      // GitHub is OAuth 2, not OpenID Connect: no ID token, so no nonce.
      checks: ["pkce", "state"],
      // The preset takes the public profile email, verified or not; only a
      // primary, verified address from /user/emails is taken here, and marked so.
      userinfo: {
        url: "https://api.github.com/user",
        async request({ tokens }: { tokens: { access_token?: string } }) {
          const headers = { Authorization: `Bearer ${tokens.access_token ?? ""}`, "User-Agent": "session-or-token" };
          const profile = GitHubProfile.parse(await (await fetch("https://api.github.com/user", { headers })).json());
          const emails = GitHubEmails.safeParse(await (await fetch("https://api.github.com/user/emails", { headers })).json());
          const primary = emails.success ? emails.data.find((entry) => entry.primary && entry.verified) : undefined;
          return { ...profile, email: primary?.email ?? null, email_verified: primary !== undefined };
        },
      },
    });
    providers.push({ provider, issuer: GITHUB_ISSUER, reauthentication: null });
  }
  return providers;
}

const configuredProviders = configured();

export const identityProviders: Provider[] = configuredProviders.map((entry) => entry.provider);

function buttonOf(provider: Provider): ProviderButton {
  const resolved = typeof provider === "function" ? provider() : provider;
  return { id: resolved.id, name: resolved.name };
}

/** The buttons the sign-in and registration pages show (plain data: safe for client components). */
export function providerButtons(): ProviderButton[] {
  return identityProviders.map(buttonOf);
}

/** The display name of a configured provider (for messages). */
export function providerName(id: string): string {
  return providerButtons().find((button) => button.id === id)?.name ?? "The provider";
}

const withoutTrailingSlash = (issuer: string) => issuer.replace(/\/+$/, "");

/** The configured provider whose identities carry this issuer, or null (one since removed from the configuration). */
export function providerForIssuer(issuer: string): ProviderButton | null {
  const entry = configuredProviders.find((candidate) => withoutTrailingSlash(candidate.issuer) === withoutTrailingSlash(issuer));
  return entry ? buttonOf(entry.provider) : null;
}

/** The parameters that make a configured provider authenticate the user again, or null if it cannot. */
export function reauthenticationParams(id: string): Record<string, string> | null {
  return configuredProviders.find((entry) => buttonOf(entry.provider).id === id)?.reauthentication ?? null;
}

export function isConfiguredProvider(id: string): boolean {
  return providerButtons().some((button) => button.id === id);
}

/**
 * What a configured OpenID Connect provider's ID tokens must name: its issuer
 * and our client id there (the audience). Null for a provider that is not
 * configured or sends no ID token (GitHub: OAuth 2).
 */
export function idTokenExpectations(id: string): { issuer: string; audience: string } | null {
  for (const entry of identityProviders) {
    const provider = typeof entry === "function" ? entry() : entry;
    if (provider.id !== id || provider.type !== "oidc") continue;
    // A preset (Google) keeps the client id among its options; the generic provider has it itself.
    const audience = provider.clientId ?? provider.options?.clientId;
    return provider.issuer && audience ? { issuer: provider.issuer, audience } : null;
  }
  return null;
}

/**
 * The identity behind a finished provider sign-in, from what Auth.js hands its
 * `signIn` callback: the ID token's claims for OpenID Connect providers (Auth.js
 * has checked issuer, audience, expiry and nonce; ./id-token.ts its signature),
 * the API profile for GitHub. Null when they are not what is expected (fail closed).
 */
export function identityFrom(providerId: string, profile: unknown): ProviderIdentity | null {
  if (providerId === "github") {
    const parsed = GitHubProfile.safeParse(profile);
    if (!parsed.success) return null;
    const { id, name, login, email, email_verified } = parsed.data;
    return { issuer: GITHUB_ISSUER, subject: String(id), email: email ?? null, emailVerified: email_verified === true, name: name ?? login, providerSessionId: null };
  }
  const parsed = OidcClaims.safeParse(profile);
  if (!parsed.success) return null;
  const { iss, sub, email, email_verified, name, sid } = parsed.data;
  return { issuer: iss, subject: sub, email: email ?? null, emailVerified: email_verified === true, name: name ?? null, providerSessionId: sid ?? null };
}

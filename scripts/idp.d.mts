// Types of the parts of idp.mjs that TypeScript callers (e2e specs, tests) use.

export interface IdpClaims {
  sub: string;
  name: string;
  email: string;
  email_verified: boolean;
}

export interface RunningIdp {
  issuer: string;
  port: number;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  /** OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_NAME for the app. */
  env: Record<string, string>;
  /** Test only: the provider's private signing key (JWK with kid). */
  testSigningJwk: Record<string, unknown> & { kid: string };
  /** Test only: every ID token the token endpoint issues from now on comes out with this defect; null: honest again. */
  spoilIdTokens(defect: IdTokenDefect | null): void;
  readonly running: boolean;
  stop(): Promise<void>;
}

export interface IdpOptions {
  port?: number;
  redirectUris?: string[];
  clientSecret?: string;
}

export type IdTokenDefect = "nonce" | "issuer" | "expired" | "foreign-key" | "stale-auth-time";

export const CLIENT_ID: string;
export const ID_TOKEN_DEFECTS: readonly IdTokenDefect[];
export const FOREIGN_ISSUER: string;
export const APP_PROVIDER_ID: string;
export const CALLBACK_PATH: string;
export const BACKCHANNEL_LOGOUT_PATH: string;
export const USERS: Record<"alice" | "bob", Omit<IdpClaims, "sub">>;
export function claimsOf(login: string): IdpClaims | undefined;
export function startIdp(options?: IdpOptions): Promise<RunningIdp>;

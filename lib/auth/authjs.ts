import "server-only";
import NextAuth, { AuthError, CredentialsSignin, type NextAuthConfig } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import { z } from "zod";
import { log } from "../platform/log";
import { safeRedirectPath } from "../security/redirect";
import { browserKinds, strategyByKind } from "../strategies";
import { keyRing } from "../tokens/keys";
import { CredentialsSchema } from "../users/policy";
import { authenticateUser } from "../users/users";
import { startBrowserSession } from "./browser-session";
import { currentAttempt } from "./credentials-guard";
import { finishProviderSignIn } from "./provider-signin";
import { identityProviders } from "./providers";

declare module "next-auth" {
  interface User {
    /** The session kind picked on the sign-in form. */
    strategy?: string;
  }
}

/**
 * Sign-in goes through Auth.js (credentials provider: input parsing, password
 * check, CSRF on its HTTP endpoints, callback URLs). What it would normally do
 * next — put its own encrypted JWE in its own cookie — is replaced: at the end
 * of a successful sign-in the `jwt` callback hands the user to the chosen
 * strategy, which sets its own cookie, and returns null so Auth.js sets none.
 *
 * That is also why a database session works with credentials here: Auth.js only
 * allows credentials with its "jwt" session mode, and that mode's job is reduced
 * to "sign-in succeeded"; sessions are ours. Everything after sign-in (auth(),
 * sign-out) never calls into Auth.js, which keeps the per-request check cheap.
 */

const CredentialsInput = CredentialsSchema.extend({ strategy: z.enum(browserKinds) });

async function authorize(raw: Partial<Record<string, unknown>>) {
  const guarded = currentAttempt();
  // A path that skipped the limits: refuse rather than allow unlimited guessing.
  if (!guarded) return null;
  const input = CredentialsInput.safeParse(raw);
  if (!input.success) return null;
  const user = await authenticateUser(input.data.email, input.data.password, { via: guarded.via, context: guarded.context });
  if (!user) return null;
  await guarded.attempt.succeeded();
  guarded.signedInEmail = user.email;
  return { id: user.id, email: user.email, name: user.name, strategy: input.data.strategy };
}

/**
 * Auth.js errors a client causes (a missing CSRF token, an unknown action, a
 * GET to the credentials callback — InvalidProvider —, a malformed request):
 * warnings, never errors, so no unauthenticated client can fill the error log.
 */
const CLIENT_ERROR_TYPES = new Set(["MissingCSRF", "InvalidCheck", "UnknownAction", "UnsupportedStrategy", "InvalidCallbackUrl", "InvalidProvider"]);

function isClientError(error: Error): boolean {
  return error instanceof AuthError && CLIENT_ERROR_TYPES.has(error.type);
}

function causeOf(error: Error): string | null {
  const cause: unknown = error.cause;
  if (cause instanceof Error) return cause.message.slice(0, 300);
  if (typeof cause === "object" && cause !== null && "err" in cause && cause.err instanceof Error) return cause.err.message.slice(0, 300);
  return null;
}

const authConfig = async (): Promise<NextAuthConfig> => ({
  secret: (await keyRing()).authSecret,
  trustHost: true,
  basePath: "/api/auth",
  session: { strategy: "jwt" },
  pages: { signIn: "/login", error: "/login" },
  providers: [
    Credentials({
      credentials: { email: { label: "Email" }, password: { label: "Password", type: "password" }, strategy: {} },
      authorize,
    }),
    // Provider sign-in (./provider-signin.ts): the `signIn` callback below ends it.
    ...identityProviders,
  ],
  callbacks: {
    // Where the credentials endpoint sends the browser (the form field, the
    // query string and the callback-url cookie all end here): a path on this
    // origin, relative, so it resolves against whatever host the client used.
    redirect({ url, baseUrl }) {
      return safeRedirectPath(url.startsWith(`${baseUrl}/`) ? url.slice(baseUrl.length) : url);
    },
    // Provider sign-ins are decided here: account resolution, refusals (a path
    // on the sign-in page), and our session of the kind chosen before leaving.
    async signIn({ account, profile }) {
      if (!account || account.type === "credentials") return true;
      return finishProviderSignIn(account.provider, account.type, profile, account.id_token);
    },
    async jwt({ user, trigger }) {
      const strategy = user?.strategy ? strategyByKind(user.strategy) : undefined;
      if (trigger === "signIn" && user?.id && user.email && strategy) {
        await startBrowserSession({ id: user.id, email: user.email, name: user.name ?? null }, strategy, { method: "password" });
      }
      // No Auth.js session cookie, ever: the strategy cookie is the session.
      return null;
    },
  },
  logger: {
    error(error) {
      if (error instanceof CredentialsSignin) return;
      (isClientError(error) ? log.warn : log.error)("authjs.error", {
        type: error instanceof AuthError ? error.type : error.name,
        message: error.message,
        // What went wrong under a CallbackRouteError (a refused code exchange, an ID token that failed a check).
        cause: causeOf(error),
      });
    },
    warn(code) {
      log.warn("authjs.warning", { code });
    },
    debug() {},
  },
});

export const nextAuth = NextAuth(authConfig);

type NextAuthRequest = Parameters<typeof nextAuth.handlers.GET>[0];
/** Auth.js's handlers are typed for NextRequest; they only use what Request has. */
export function asNextRequest(request: Request): NextAuthRequest {
  return request as NextAuthRequest;
}

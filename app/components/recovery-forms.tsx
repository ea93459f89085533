"use client";

import Link from "next/link";
import { useActionState, useEffect, useState } from "react";
import {
  finishRegistrationAction,
  forgotPasswordAction,
  resetPasswordAction,
  type ForgotPasswordState,
  type LinkFormState,
} from "@/app/actions/recovery";
import { Field, FormMessage } from "./form-fields";

/**
 * The token of a mailed link lives in the URL fragment (`#token=…`), which
 * browsers never send to a server. Read it once, then take it out of the
 * address bar and the history entry, so it is not left behind in the tab.
 * undefined until read (server render, first paint); null when the link has none.
 */
function useLinkToken(): string | null | undefined {
  const [token, setToken] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    const fromHash = new URLSearchParams(window.location.hash.slice(1)).get("token");
    if (window.location.hash) window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
    // A second run (React's development double effects) finds the hash gone: keep what the first one read.
    // eslint-disable-next-line react-hooks/set-state-in-effect -- reading the fragment is only possible after mount
    setToken((current) => current ?? fromHash);
  }, []);
  return token;
}

/** The clear page for a link that cannot be used; `again` is where a new one is requested. */
export function LinkProblem({ outcome, again }: { outcome: NonNullable<LinkFormState["outcome"]>; again: "register" | "reset" }) {
  if (outcome === "already_registered") {
    return (
      <div className="card" role="alert">
        <h2>This email is already registered</h2>
        <p>
          An account with this address exists already. <Link href="/login">Sign in</Link>, or{" "}
          <Link href="/forgot-password">reset your password</Link>.
        </p>
      </div>
    );
  }
  return (
    <div className="card" role="alert">
      <h2>This link cannot be used</h2>
      <p>This link has expired or was already used.</p>
      <p>
        {again === "register" ? (
          <Link href="/register">Register again to get a new link</Link>
        ) : (
          <Link href="/forgot-password">Request a new link</Link>
        )}
      </p>
    </div>
  );
}

export function FinishSignUpForm() {
  const token = useLinkToken();
  const [state, action, pending] = useActionState(finishRegistrationAction, {});
  if (token === null) return <LinkProblem outcome="invalid_link" again="register" />;
  if (state.outcome) return <LinkProblem outcome={state.outcome} again="register" />;
  return (
    <form action={action} className="card form" aria-label="Finish sign-up">
      <FormMessage error={state.error} />
      <p>Your address is confirmed by this link. Finish to create the account and sign in.</p>
      <input type="hidden" name="token" value={token ?? ""} />
      <button type="submit" disabled={pending || token === undefined}>
        Finish sign-up
      </button>
    </form>
  );
}

export function ResetPasswordForm() {
  const token = useLinkToken();
  const [state, action, pending] = useActionState(resetPasswordAction, {});
  if (token === null) return <LinkProblem outcome="invalid_link" again="reset" />;
  if (state.outcome) return <LinkProblem outcome={state.outcome} again="reset" />;
  return (
    <form action={action} className="card form" aria-label="Set a new password">
      <FormMessage error={state.error} />
      <Field name="password" label="New password" type="password" autoComplete="new-password" error={state.fieldErrors?.password} />
      <input type="hidden" name="token" value={token ?? ""} />
      <p>Setting a new password signs out every session of the account, on every device.</p>
      <button type="submit" disabled={pending || token === undefined}>
        Set new password
      </button>
    </form>
  );
}

export function ForgotPasswordForm() {
  const [state, action, pending] = useActionState<ForgotPasswordState, FormData>(forgotPasswordAction, {});
  return (
    <form action={action} className="card form" aria-label="Reset password">
      <FormMessage error={state.error} status={state.notice} />
      <Field name="email" label="Email" type="email" autoComplete="email" error={state.fieldErrors?.email} defaultValue={state.values?.email} />
      <button type="submit" disabled={pending}>
        Send reset link
      </button>
      <p>
        Remembered it? <Link href="/login">Sign in</Link>
      </p>
    </form>
  );
}

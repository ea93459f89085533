"use client";

import { useActionState } from "react";
import { confirmIdentityAction } from "@/app/actions/step-up";
import { Field, FormMessage } from "./form-fields";

export function ConfirmIdentityForm({ email, returnTo }: { email: string; returnTo: string }) {
  const [state, action, pending] = useActionState(confirmIdentityAction, {});
  return (
    <form action={action} className="card form" aria-label="Confirm it's you">
      <FormMessage error={state.error} />
      {/* Lets password managers offer the right account's password. */}
      <input type="text" name="username" autoComplete="username" value={email} readOnly hidden />
      <input type="hidden" name="returnTo" value={returnTo} />
      <Field name="password" label="Password" type="password" autoComplete="current-password" maxLength={1024} />
      <button type="submit" disabled={pending}>
        Confirm
      </button>
    </form>
  );
}

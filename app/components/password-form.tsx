"use client";

import { useActionState } from "react";
import { changePasswordAction, setPasswordAction } from "@/app/actions/account";
import { Field, FormMessage } from "./form-fields";
import { StepUpPrompt } from "./step-up-prompt";

export function ChangePasswordForm({ email }: { email: string }) {
  const [state, action, pending] = useActionState(changePasswordAction, {});
  return (
    // The key resets the inputs after a successful change.
    <form action={action} className="card form" aria-label="Change password" key={state.message ?? "form"}>
      <FormMessage error={state.error} status={state.message} />
      <StepUpPrompt stepUp={state.stepUp} />
      {/* Lets password managers file the new password under the right account. */}
      <input type="text" name="username" autoComplete="username" value={email} readOnly hidden />
      <Field name="currentPassword" label="Current password" type="password" autoComplete="current-password" maxLength={1024} error={state.fieldErrors?.currentPassword} />
      <Field name="newPassword" label="New password" type="password" autoComplete="new-password" maxLength={1024} error={state.fieldErrors?.newPassword} />
      <button type="submit" disabled={pending}>
        Change password
      </button>
    </form>
  );
}

/** A first password for an account that signs in through a provider only (no current password to give). */
export function SetPasswordForm({ email }: { email: string }) {
  const [state, action, pending] = useActionState(setPasswordAction, {});
  return (
    <form action={action} className="card form" aria-label="Set a password">
      <FormMessage error={state.error} status={state.message} />
      <StepUpPrompt stepUp={state.stepUp} />
      <input type="text" name="username" autoComplete="username" value={email} readOnly hidden />
      <Field name="newPassword" label="New password" type="password" autoComplete="new-password" maxLength={1024} error={state.fieldErrors?.newPassword} />
      <button type="submit" disabled={pending}>
        Set password
      </button>
    </form>
  );
}

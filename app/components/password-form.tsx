"use client";

import { useActionState, useId } from "react";
import { changePasswordAction, type PasswordField, type PasswordFormState } from "@/app/actions/account";

function PasswordInput({ name, label, autoComplete, state }: { name: PasswordField; label: string; autoComplete: string; state: PasswordFormState }) {
  const id = useId();
  const message = state.fieldErrors?.[name];
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        type="password"
        autoComplete={autoComplete}
        required
        maxLength={1024}
        aria-invalid={message ? true : undefined}
        aria-describedby={message ? `${id}-error` : undefined}
      />
      {message && (
        <p id={`${id}-error`} className="field-error">
          {message}
        </p>
      )}
    </div>
  );
}

export function ChangePasswordForm({ email }: { email: string }) {
  const [state, action, pending] = useActionState(changePasswordAction, {});
  return (
    // The key resets the inputs after a successful change.
    <form action={action} className="card form" aria-label="Change password" key={state.message ?? "form"}>
      {state.error && (
        <p role="alert" className="alert">
          {state.error}
        </p>
      )}
      {state.message && (
        <p role="status" className="notice">
          {state.message}
        </p>
      )}
      {/* Lets password managers file the new password under the right account. */}
      <input type="text" name="username" autoComplete="username" value={email} readOnly hidden />
      <PasswordInput name="currentPassword" label="Current password" autoComplete="current-password" state={state} />
      <PasswordInput name="newPassword" label="New password" autoComplete="new-password" state={state} />
      <button type="submit" disabled={pending}>
        Change password
      </button>
    </form>
  );
}

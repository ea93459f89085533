"use client";

import { useActionState } from "react";
import type { SessionActionState } from "@/app/actions/account";
import styles from "./account.module.css";
import { StepUpPrompt } from "./step-up-prompt";

type SessionAction = (previous: SessionActionState, formData: FormData) => Promise<SessionActionState>;

/** What a session or provider action answered: "Confirm it's you", an error, or its outcome. */
export function Outcome({ state }: { state: SessionActionState }) {
  if (state.stepUp) return <StepUpPrompt stepUp={state.stepUp} />;
  if (state.error) {
    return (
      <span role="alert" className="field-error">
        {state.error}
      </span>
    );
  }
  if (state.message) {
    return (
      <span role="status" className={styles.muted}>
        {state.message}
      </span>
    );
  }
  return null;
}

/**
 * One "Revoke" button. `label` is its accessible name ("Revoke session 2 …"),
 * so each row's button can be told apart by assistive technology.
 */
export function RevokeButton({
  action,
  field,
  value,
  label,
  text = "Revoke",
}: {
  action: SessionAction;
  /** Name of the hidden field the action reads ("sessionId", "userId"). */
  field: string;
  value: string;
  label: string;
  text?: string;
}) {
  const [state, formAction, pending] = useActionState(action, {});
  return (
    <form action={formAction} className={styles.inlineForm}>
      <input type="hidden" name={field} value={value} />
      <button type="submit" className={styles.danger} aria-label={label} disabled={pending}>
        {text}
      </button>
      <Outcome state={state} />
    </form>
  );
}

/** "Sign out everywhere else": ends every other session and token family of the user. */
export function SignOutOthersButton({ action }: { action: (previous: SessionActionState) => Promise<SessionActionState> }) {
  const [state, formAction, pending] = useActionState(action, {});
  return (
    <form action={formAction} className={styles.inlineForm}>
      <button type="submit" disabled={pending}>
        Sign out everywhere else
      </button>
      <Outcome state={state} />
    </form>
  );
}

"use client";

import Link from "next/link";
import { useActionState, useId } from "react";
import { registerAction, signInAction, type Field, type FormState } from "@/app/actions/auth";

/** A session kind as the sign-in form offers it (from lib/strategies: plain data). */
export interface StrategyOption {
  kind: string;
  label: string;
  hint: string;
}

function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <p id={id} className="field-error">
      {message}
    </p>
  );
}

function TextField(props: {
  name: Field;
  label: string;
  type: string;
  autoComplete: string;
  state: FormState;
  defaultValue?: string;
}) {
  const id = useId();
  const message = props.state.fieldErrors?.[props.name];
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type}
        autoComplete={props.autoComplete}
        defaultValue={props.defaultValue}
        required
        aria-invalid={message ? true : undefined}
        aria-describedby={message ? `${id}-error` : undefined}
      />
      <FieldError id={`${id}-error`} message={message} />
    </div>
  );
}

function StrategyChoice({ options, state }: { options: StrategyOption[]; state: FormState }) {
  const chosen = state.values?.strategy ?? options[0]?.kind;
  return (
    <fieldset className="strategy" role="radiogroup" aria-labelledby="strategy-legend">
      <legend id="strategy-legend">Session strategy</legend>
      {options.map((option) => (
        <label key={option.kind} className="radio">
          <input type="radio" name="strategy" value={option.kind} defaultChecked={option.kind === chosen} aria-label={option.label} />
          <span>
            <strong>{option.label}</strong> <small>{option.hint}</small>
          </span>
        </label>
      ))}
      <FieldError id="strategy-error" message={state.fieldErrors?.strategy} />
    </fieldset>
  );
}

function FormAlert({ state }: { state: FormState }) {
  if (!state.error) return null;
  return (
    <p role="alert" className="alert">
      {state.error}
    </p>
  );
}

export function LoginForm({ options, callbackUrl }: { options: StrategyOption[]; callbackUrl: string }) {
  const [state, action, pending] = useActionState(signInAction, {});
  return (
    <form action={action} className="card form" aria-label="Sign in">
      <FormAlert state={state} />
      <TextField name="email" label="Email" type="email" autoComplete="username" state={state} defaultValue={state.values?.email} />
      <TextField name="password" label="Password" type="password" autoComplete="current-password" state={state} />
      <StrategyChoice options={options} state={state} />
      <input type="hidden" name="callbackUrl" value={callbackUrl} />
      <button type="submit" disabled={pending}>
        Sign in
      </button>
      <p>
        No account? <Link href="/register">Create one</Link>
      </p>
    </form>
  );
}

export function RegisterForm({ options }: { options: StrategyOption[] }) {
  const [state, action, pending] = useActionState(registerAction, {});
  return (
    <form action={action} className="card form" aria-label="Create account">
      <FormAlert state={state} />
      <TextField name="name" label="Name" type="text" autoComplete="name" state={state} defaultValue={state.values?.name} />
      <TextField name="email" label="Email" type="email" autoComplete="email" state={state} defaultValue={state.values?.email} />
      <TextField name="password" label="Password" type="password" autoComplete="new-password" state={state} />
      <StrategyChoice options={options} state={state} />
      <button type="submit" disabled={pending}>
        Create account
      </button>
      <p>
        Already registered? <Link href="/login">Sign in</Link>
      </p>
    </form>
  );
}

"use client";

import Link from "next/link";
import { useActionState, useMemo } from "react";
import { providerSignInAction, registerAction, signInAction, type FormState } from "@/app/actions/auth";
import { Field, FieldError, FormMessage } from "./form-fields";

/** A session kind as the sign-in form offers it (from lib/strategies: plain data). */
export interface StrategyOption {
  kind: string;
  label: string;
  hint: string;
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

/** A configured identity provider (plain data from lib/auth/providers). */
export interface ProviderOption {
  id: string;
  name: string;
}

/**
 * One button per configured provider, inside the form so that the session
 * strategy picked above goes with it (formNoValidate: email and password are
 * not needed for this). Each button's action is bound to its provider, which
 * keeps it a server action (it works before hydration too).
 */
function ProviderButton({ provider, verb, disabled }: { provider: ProviderOption; verb: string; disabled: boolean }) {
  const bound = useMemo(() => providerSignInAction.bind(null, provider.id), [provider.id]);
  const [state, action, pending] = useActionState(bound, {});
  return (
    <>
      {state.error && (
        <p role="alert" className="alert">
          {state.error}
        </p>
      )}
      <button type="submit" formAction={action} formNoValidate disabled={disabled || pending}>
        {verb} {provider.name}
      </button>
    </>
  );
}

function ProviderButtons({ providers, verb, disabled }: { providers: ProviderOption[]; verb: string; disabled: boolean }) {
  if (providers.length === 0) return null;
  return (
    <div className="providers" role="group" aria-label="Sign in with a provider">
      <p>Or, with the session strategy chosen above:</p>
      {providers.map((provider) => (
        <ProviderButton key={provider.id} provider={provider} verb={verb} disabled={disabled} />
      ))}
    </div>
  );
}

export function LoginForm({ options, providers, callbackUrl }: { options: StrategyOption[]; providers: ProviderOption[]; callbackUrl: string }) {
  const [state, action, pending] = useActionState(signInAction, {});
  return (
    <form action={action} className="card form" aria-label="Sign in">
      <FormMessage error={state.error} />
      <Field name="email" label="Email" type="email" autoComplete="username" error={state.fieldErrors?.email} defaultValue={state.values?.email} />
      <Field name="password" label="Password" type="password" autoComplete="current-password" error={state.fieldErrors?.password} />
      <StrategyChoice options={options} state={state} />
      <input type="hidden" name="callbackUrl" value={callbackUrl} />
      <button type="submit" disabled={pending}>
        Sign in
      </button>
      <ProviderButtons providers={providers} verb="Continue with" disabled={pending} />
      <p>
        <Link href="/forgot-password">Forgot password?</Link>
      </p>
      <p>
        No account? <Link href="/register">Create one</Link>
      </p>
    </form>
  );
}

export function RegisterForm({ options, providers }: { options: StrategyOption[]; providers: ProviderOption[] }) {
  const [state, action, pending] = useActionState(registerAction, {});
  return (
    <form action={action} className="card form" aria-label="Create account">
      <FormMessage error={state.error} status={state.notice} />
      <Field name="name" label="Name" type="text" autoComplete="name" error={state.fieldErrors?.name} defaultValue={state.values?.name} />
      <Field name="email" label="Email" type="email" autoComplete="email" error={state.fieldErrors?.email} defaultValue={state.values?.email} />
      <Field name="password" label="Password" type="password" autoComplete="new-password" error={state.fieldErrors?.password} />
      <StrategyChoice options={options} state={state} />
      <button type="submit" disabled={pending}>
        Create account
      </button>
      <ProviderButtons providers={providers} verb="Continue with" disabled={pending} />
      <p>
        Already registered? <Link href="/login">Sign in</Link>
      </p>
    </form>
  );
}

"use client";

import { useId } from "react";

/** The message under a field, tied to it by aria-describedby. */
export function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <p id={id} className="field-error">
      {message}
    </p>
  );
}

/** One labelled input with its error message: the same markup on every form. */
export function Field(props: {
  name: string;
  label: string;
  type: string;
  autoComplete: string;
  error?: string;
  defaultValue?: string;
  maxLength?: number;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type}
        autoComplete={props.autoComplete}
        defaultValue={props.defaultValue}
        maxLength={props.maxLength}
        required
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
      />
      <FieldError id={`${id}-error`} message={props.error} />
    </div>
  );
}

/** A message for the whole form: an error (alert) or an outcome (status). */
export function FormMessage({ error, status }: { error?: string; status?: string }) {
  return (
    <>
      {error && (
        <p role="alert" className="alert">
          {error}
        </p>
      )}
      {status && (
        <p role="status" className="notice">
          {status}
        </p>
      )}
    </>
  );
}

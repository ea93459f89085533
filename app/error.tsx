"use client";

/** Whatever failed, the page shows this and nothing else: details stay in the server log. */
export default function ErrorPage({ reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div role="alert" className="card">
      <h1>Something went wrong</h1>
      <p>The service is temporarily unavailable. Please try again in a moment.</p>
      <button type="button" onClick={reset}>
        Try again
      </button>
    </div>
  );
}

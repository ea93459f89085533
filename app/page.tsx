import Link from "next/link";
import { SequenceDiagram } from "@/app/components/sequence-diagram";
import { browserStrategies, strategies } from "@/lib/strategies";

export default function HomePage() {
  return (
    <>
      <h1>How does a server remember you?</h1>
      <p>
        HTTP forgets you between requests. After you sign in, the server gives your browser something to send back
        every time. There are two ways to do it, and this app runs both, side by side, so you can see what each
        really puts in your browser and on the server, and what sign-out can and cannot undo.
      </p>
      <div className="grid-2">
        {browserStrategies(strategies).map((strategy) => {
          const facts = strategy.facts();
          return (
            <section key={strategy.kind} className={`card flow ${strategy.kind}`} aria-labelledby={`${strategy.kind}-flow`} data-testid={`flow-${strategy.kind}`}>
              <h2 id={`${strategy.kind}-flow`}>{strategy.label}</h2>
              <ol>
                {facts.steps.map((step) => (
                  <li key={step}>{step}</li>
                ))}
              </ol>
              {facts.sequence && (
                <SequenceDiagram id={`${strategy.kind}-sequence`} title={`${strategy.label}: sign-in, a request and sign-out`} sequence={facts.sequence} />
              )}
            </section>
          );
        })}
      </div>
      <p>
        <Link href="/login">Sign in</Link> and pick a strategy, or <Link href="/register">create an account</Link>.
      </p>
      <p>
        Or test the claims about both on this server in the <Link href="/compare">comparison lab</Link>: revocation
        and size on the wire, measured live, no account needed.
      </p>
    </>
  );
}

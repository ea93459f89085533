// scripts/compare.mjs without a server: its options and what it writes from a
// report (the runs themselves are tested against the e2e server in
// e2e/compare.spec.ts).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";

// A dynamic import: the script is an ES module with top-level await, which a CommonJS test cannot require.
const load = () => import("../scripts/compare.mjs");

const SCRIPT = path.join(__dirname, "..", "scripts", "compare.mjs");

function claim(id: string, verdict: string) {
  return {
    id,
    claim: `Claim ${id}.`,
    measured: "measured",
    columns: [
      { key: "database", heading: "Database session", tone: "session", figure: `${id} session figure`, detail: "" },
      { key: "jwt", heading: "JWT", tone: "token", figure: `${id} token figure`, detail: "" },
    ],
    charts: [],
    tables: [],
    verdict,
    caveat: "caveat",
  };
}

const experiment = (id: string, verdict: string) => ({ id, title: id, summary: `Claim ${id}.`, status: "ok", claims: [claim(id, verdict)] });

test("--modes takes the server's revocation modes, once each, and re-runs only the experiments they change", async () => {
  const { MODE_EXPERIMENTS, REVOCATION_MODES, parseArgs } = await load();
  assert.deepEqual(REVOCATION_MODES, ["strict", "stateless", "pushed"]);
  assert.deepEqual(MODE_EXPERIMENTS, ["revocation", "hybrid", "cost"]);
  assert.deepEqual(parseArgs(["--modes=strict, stateless,strict"]).modes, ["strict", "stateless"]);
  assert.equal(parseArgs([]).modes, null);
  for (const args of [["--modes=lenient"], ["--modes="], ["--modes=strict", "--url=http://127.0.0.1:3000"]]) {
    const run = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: "utf8" });
    assert.equal(run.status, 2, args.join(" "));
    assert.match(run.stderr, /^compare: --modes /, args.join(" "));
  }
});

test("the per-mode runs get a table of their own, in the report and in the README's generated section", async () => {
  const { TABLE_END, TABLE_START, markdownReport, modesMarkdown, replaceReadmeTable } = await load();
  const report = {
    version: 1 as const,
    date: "2026-11-23T04:00:00.000Z",
    server: { started: true, url: "http://127.0.0.1:1", database: "SQLite", revocationMode: "REVOCATION_MODE=strict" },
    experiments: [experiment("revocation", "strict verdict"), experiment("size", "size verdict")],
    byMode: [
      { revocationMode: "REVOCATION_MODE=strict", experiments: [experiment("revocation", "strict verdict")] },
      { revocationMode: "REVOCATION_MODE=stateless", experiments: [experiment("revocation", "stateless verdict")] },
    ],
  };
  const modes = modesMarkdown(report);
  assert.match(modes, /^\| Claim \| REVOCATION_MODE \| Database session \| JWT \| Verdict \|/);
  assert.match(modes, /\| Claim revocation\. \| REVOCATION_MODE=stateless \| revocation session figure \| revocation token figure \| stateless verdict \|/);
  assert.equal(modes.split("\n").length, 4);
  assert.match(markdownReport(report), /## Per revocation mode[\s\S]*REVOCATION_MODE=stateless/);

  const readme = `before\n${TABLE_START}\nold table\n${TABLE_END}\nafter\n`;
  const generated = replaceReadmeTable(readme, report);
  assert.ok(generated.startsWith(`before\n${TABLE_START}`) && generated.endsWith(`${TABLE_END}\nafter\n`));
  assert.ok(!generated.includes("old table"));
  assert.ok(generated.includes("| Claim size. | size session figure | size token figure | size verdict |"));
  assert.ok(generated.includes("| Claim revocation. | REVOCATION_MODE=stateless |"));
  // Without per-mode runs there is no second table.
  assert.equal(modesMarkdown({ ...report, byMode: undefined }), "");
  assert.ok(!replaceReadmeTable(readme, { ...report, byMode: undefined }).includes("REVOCATION_MODE |"));
});

#!/usr/bin/env node
// Derives prisma/postgresql/schema.prisma from prisma/schema.prisma.
//
// The models are written once, for SQLite. PostgreSQL needs its own schema file
// only because the datasource provider and the generated client's output folder
// differ, so the derivation is a swap of exactly those two values. The derived
// file is committed: `prisma migrate deploy --schema prisma/postgresql/schema.prisma`
// must work on machines that never ran this script.
//
//   node scripts/prisma-schemas.mjs          write the derived file if it changed
//   node scripts/prisma-schemas.mjs --check  exit 1 if the committed file is stale

import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const projectRoot = fileURLToPath(new URL("..", import.meta.url));

export const SOURCE_SCHEMA = "prisma/schema.prisma";
export const POSTGRESQL_SCHEMA = "prisma/postgresql/schema.prisma";

const HEADER = [
  `// generated from ${SOURCE_SCHEMA}; do not edit.`,
  "// Edit the source schema, then run `npm run db:generate` (scripts/prisma-schemas.mjs).",
  "",
  "",
].join("\n");

/** Matches a top-level `generator x { ... }` or `datasource x { ... }` block (they never nest braces). */
const CONFIG_BLOCK = /^(generator|datasource)\s+(\w+)\s*\{[^}]*\}/gm;

/**
 * Returns the text of the PostgreSQL schema for the given SQLite schema text.
 * Throws when the source contains something a plain provider swap cannot carry
 * over, so a bad source fails loudly here instead of producing a subtly wrong file.
 */
export function derivePostgresqlSchema(sourceText) {
  const sourceDir = path.dirname(path.join(projectRoot, SOURCE_SCHEMA));
  const targetDir = path.dirname(path.join(projectRoot, POSTGRESQL_SCHEMA));

  // Native type attributes are provider-specific (@db.Text exists on both, @db.Real only on one...).
  const nativeType = sourceText.match(/@db\.\w+/);
  if (nativeType) {
    throw new Error(`${SOURCE_SCHEMA} uses the native type ${nativeType[0]}; keep to portable types so both providers share it`);
  }

  let datasourceCount = 0;
  const body = stripLeadingComments(sourceText).replace(CONFIG_BLOCK, (block, kind, name) => {
    if (kind === "datasource") {
      datasourceCount += 1;
      const swapped = block.replace(/^(\s*provider\s*=\s*)"sqlite"/m, '$1"postgresql"');
      if (swapped === block) throw new Error(`datasource ${name} in ${SOURCE_SCHEMA} must have provider = "sqlite"`);
      return swapped;
    }
    // A generator's output is relative to its schema file, and the new file lives
    // one folder deeper; the last folder name says which provider the client is for.
    return block.replace(/^(\s*output\s*=\s*)"([^"]+)"/m, (_line, prefix, output) => {
      const absolute = path.resolve(sourceDir, output);
      if (path.basename(absolute) !== "sqlite") {
        throw new Error(`generator ${name}: output "${output}" must end in /sqlite so the PostgreSQL client gets a sibling folder`);
      }
      const target = path.join(path.dirname(absolute), "postgresql");
      return `${prefix}"${path.relative(targetDir, target).split(path.sep).join("/")}"`;
    });
  });
  if (datasourceCount !== 1) throw new Error(`${SOURCE_SCHEMA} must have exactly one datasource block`);

  return HEADER + body;
}

/** Drops the source's opening comment: it describes the source file, not the derived one. */
function stripLeadingComments(text) {
  const lines = text.split("\n");
  let first = 0;
  while (first < lines.length && /^\s*(\/\/.*)?$/.test(lines[first]) && !/^\s*\/\/\//.test(lines[first])) first += 1;
  return lines.slice(first).join("\n");
}

/** What the derived file should contain, and what it contains now (null when missing). */
function compare() {
  const expected = derivePostgresqlSchema(readFileSync(path.join(projectRoot, SOURCE_SCHEMA), "utf8"));
  let actual = null;
  try {
    actual = readFileSync(path.join(projectRoot, POSTGRESQL_SCHEMA), "utf8");
  } catch (error) {
    if (error.code !== "ENOENT") throw error;
  }
  return { expected, actual };
}

/** Writes the derived schema when it differs; returns whether it wrote. */
export function writePostgresqlSchema() {
  const { expected, actual } = compare();
  if (expected === actual) return false;
  mkdirSync(path.dirname(path.join(projectRoot, POSTGRESQL_SCHEMA)), { recursive: true });
  writeFileSync(path.join(projectRoot, POSTGRESQL_SCHEMA), expected);
  return true;
}

/** True when the committed derived schema matches the source. */
export function postgresqlSchemaIsCurrent() {
  const { expected, actual } = compare();
  return expected === actual;
}

function main(args) {
  if (args.includes("--check")) {
    if (postgresqlSchemaIsCurrent()) {
      console.log(`${POSTGRESQL_SCHEMA} is up to date.`);
      return 0;
    }
    console.error(`${POSTGRESQL_SCHEMA} is out of date with ${SOURCE_SCHEMA}. Run \`npm run db:generate\` and commit the result.`);
    return 1;
  }
  const wrote = writePostgresqlSchema();
  console.log(wrote ? `Wrote ${POSTGRESQL_SCHEMA}.` : `${POSTGRESQL_SCHEMA} is up to date.`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(`prisma-schemas: ${error.message}`);
    process.exitCode = 1;
  }
}

#!/usr/bin/env node
// A `solc` command line backed by solc-js (the official WASM build), so that
// py-solc-x and ape-solidity can use it where native binaries cannot be fetched.
// It answers the two calls they make: `--version` and `--standard-json`
// (JSON on stdin, JSON on stdout); imports are resolved from the base, include and
// allowed paths they pass.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const args = process.argv.slice(2);
const version = solc.version();

if (args.includes("--version")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${version}\n`);
  process.exit(0);
}
if (!args.includes("--standard-json")) {
  process.stderr.write("solc_bridge: only --version and --standard-json are supported\n");
  process.exit(2);
}

function optionValues(name) {
  const values = [];
  args.forEach((arg, i) => {
    if (arg === name && i + 1 < args.length) values.push(...args[i + 1].split(","));
    else if (arg.startsWith(name + "=")) values.push(...arg.slice(name.length + 1).split(","));
  });
  return values;
}
const roots = [process.cwd(), ...optionValues("--base-path"), ...optionValues("--include-path"),
  ...optionValues("--allow-paths")];

function findImport(importPath) {
  const candidates = path.isAbsolute(importPath) ? [importPath]
    : roots.map((root) => path.resolve(root, importPath));
  for (const candidate of candidates) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
      return { contents: fs.readFileSync(candidate, "utf8") };
    }
  }
  return { error: `File not found: ${importPath}` };
}

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  const output = solc.compile(Buffer.concat(chunks).toString("utf8"), { import: findImport });
  // Let node drain stdout by itself: calling process.exit() here would cut long output.
  process.stdout.write(output + "\n");
});

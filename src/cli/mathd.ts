#!/usr/bin/env node
/** The `mathd` executable: runs {@link runMathd} and exits with its code once output is flushed. */
import { runMathd } from "./main.js";

runMathd(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  // exit after stdout drained (a pipe can be asynchronous), so a long manifest is never cut
  (code) => process.stdout.write("", () => process.exit(code)),
  (error: unknown) => {
    console.error(error);
    process.exit(70);
  },
);

#!/usr/bin/env node
/**
 * The `mathd` command.
 *   mathd consume --symbols NIFTY,BANKNIFTY [--url redis://...] [--group mathd] [--consumer NAME] [--atr-period 14] [--hash-tag]
 *   mathd health [--url redis://...] [--json] [--sample 1000]
 *     exit code 0 healthy, 1 TTL policy violations, 2 Redis unreachable
 * The URL defaults to REDIS_URL, then redis://127.0.0.1:6379.
 */
import { parseArgs } from "node:util";
import { consume } from "./consume.js";
import { collectHealth, exitCodeOf } from "../health/healthReport.js";
import { renderHealth } from "../health/renderHealth.js";

const USAGE = `usage:
  mathd consume --symbols NIFTY,BANKNIFTY [--url URL] [--group NAME] [--consumer NAME] [--atr-period N] [--hash-tag]
  mathd health [--url URL] [--json] [--sample KEYS_PER_DB]`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      url: { type: "string" },
      symbols: { type: "string" },
      group: { type: "string" },
      consumer: { type: "string" },
      "atr-period": { type: "string" },
      "hash-tag": { type: "boolean" },
      json: { type: "boolean" },
      sample: { type: "string" },
    },
  });
  const url = values.url ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  if (command === "consume" && values.symbols) {
    await consume({
      url,
      symbols: values.symbols.split(",").filter(Boolean),
      group: values.group,
      consumer: values.consumer,
      atrPeriod: values["atr-period"] ? Number(values["atr-period"]) : undefined,
      hashTag: values["hash-tag"],
    });
    return 0;
  }
  if (command === "health") {
    if (values.sample !== undefined && !/^[1-9]\d*$/.test(values.sample)) {
      console.error(`--sample must be a positive whole number of keys, got ${JSON.stringify(values.sample)}`);
      return 64;
    }
    const report = await collectHealth({ url, samplePerDb: values.sample ? Number(values.sample) : undefined });
    console.log(values.json ? JSON.stringify(report, null, 2) : renderHealth(report));
    return exitCodeOf(report);
  }
  console.error(USAGE);
  return 64;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);

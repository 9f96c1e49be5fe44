import type { TestProject } from "vitest/node";
import { provideRedis, type ProvidedRedis } from "./redis.js";

export default async function setup(project: TestProject) {
  let servers: ProvidedRedis[];
  try {
    servers = await provideRedis();
  } catch (error) {
    // A throwing global setup makes vitest print "No test files found" and a stack trace, which
    // sends a newcomer looking in the wrong place; the message alone says what to do.
    console.error(`\n${(error as Error).message}\n`);
    process.exit(1);
  }
  console.log(`tests use Redis from ${servers[0]!.source}: ${servers.map((server) => server.url).join(", ")}`);
  project.provide("redisUrls", servers.map((server) => server.url));
  return () => Promise.all(servers.map((server) => server.stop()));
}

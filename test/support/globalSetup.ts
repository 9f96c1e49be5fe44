import type { TestProject } from "vitest/node";
import { provideRedis } from "./redis.js";

export default async function setup(project: TestProject) {
  const redis = await provideRedis();
  console.log(`tests use Redis from ${redis.source}: ${redis.url}`);
  project.provide("redisUrl", redis.url);
  return () => redis.stop();
}

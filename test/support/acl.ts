/** The ACL users docs/SECURITY.md gives, for the tests that run clients under exactly those. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The documented users: name and rules (`>CHANGE-ME` for the password), from the page's `acl` code blocks. */
export function documentedAclUsers(): Map<string, string[]> {
  const page = readFileSync(join(import.meta.dirname, "../../docs/SECURITY.md"), "utf8");
  return new Map(
    [...page.matchAll(/```acl\n([\s\S]*?)```/g)]
      .flatMap((block) => (block[1] as string).split("\n"))
      .filter((line) => line.startsWith("user "))
      .map((line) => {
        const [, name, ...rules] = line.trim().split(/\s+/);
        return [name as string, rules];
      }),
  );
}

/** What docs/SECURITY.md says a cluster user needs beyond its rules: the `+...` named in its "A cluster user needs" sentence. */
export function clusterAclAdditions(): string[] {
  const page = readFileSync(join(import.meta.dirname, "../../docs/SECURITY.md"), "utf8").replace(/\s+/g, " ");
  const sentence = /A cluster user needs ([^.]*)\./.exec(page)?.[1] ?? "";
  return [...sentence.matchAll(/`(\+[a-z|_]+)`/g)].map((m) => m[1] as string);
}

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

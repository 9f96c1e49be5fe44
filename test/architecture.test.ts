import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layers of src/ and what each may import: the one statement of the architecture that
 * README's ARCHITECTURE section describes. Lower layers never import higher ones, and the
 * decimal.js reference (`indicators`) is imported only by what draws or exports it, never by the
 * runtime. A new folder fails this test until it is placed here.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  core: [], // errors, units, defaults, the manifest type, a timeout race
  generated: ["core"], // the manifest built from lua/
  market: ["core"], // IST clock, session rule
  redis: ["core", "cluster", "generated"], // DB map, configuration, the resilient client (over one server or a Cluster), local servers
  keys: ["core", "market", "redis"], // the key grammar
  indicators: ["core", "market"], // the decimal.js reference: the oracle
  build: ["core"], // lua/ to the manifest, the Functions library
  cluster: ["core", "build", "generated"], // Redis Cluster primitives (below the resilient client, which wraps a Cluster)
  dispatcher: ["core", "generated", "keys", "market", "redis", "cluster", "build"], // the runtime: typed script calls
  streaming: ["core", "dispatcher", "keys", "market", "redis", "cluster"], // the tick consumer (per-master reads on a cluster)
  health: ["core", "generated", "keys", "market", "redis", "cluster", "build"], // the health report
  chart: ["core", "indicators", "market"], // SVG pictures
  cli: ["package.json", "core", "generated", "market", "redis", "keys", "indicators", "build", "cluster", "dispatcher", "streaming", "health", "chart", "index.ts"],
  "index.ts": ["core", "generated", "market", "redis", "keys", "indicators", "build", "cluster", "dispatcher", "streaming", "health", "chart"],
};

const SRC = join(import.meta.dirname, "..", "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** The layer of a file: its folder under src/ (`index.ts` for the entry point), or `package.json`. */
const layerOf = (path: string) => {
  const inside = relative(SRC, path);
  return inside.startsWith("..") ? inside.replace(/^(\.\.\/)+/, "") : (inside.split("/")[0] as string);
};

/** Folder-to-folder imports, with one file that makes each. */
function edges(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of files(SRC)) {
    for (const match of readFileSync(file, "utf8").matchAll(/from "(\.[^"]+)"/g)) {
      const target = layerOf(normalize(join(dirname(file), (match[1] as string).replace(/\.js$/, ".ts"))));
      const source = layerOf(file);
      if (target !== source) found.set(`${source} -> ${target}`, relative(SRC, file));
    }
  }
  return found;
}

describe("architecture", () => {
  it("places every folder of src/ in a layer", () => {
    expect(readdirSync(SRC).filter((name) => !(name in MAY_IMPORT))).toEqual([]);
  });

  it("imports only what each layer may import", () => {
    const forbidden = [...edges()].filter(([edge]) => {
      const [source, target] = edge.split(" -> ") as [string, string];
      return !(MAY_IMPORT[source] ?? []).includes(target);
    });
    expect(forbidden.map(([edge, file]) => `${edge} (${file})`)).toEqual([]);
  });

  it("has no import loop between folders", () => {
    const graph = new Map<string, string[]>();
    for (const edge of edges().keys()) {
      const [source, target] = edge.split(" -> ") as [string, string];
      graph.set(source, [...(graph.get(source) ?? []), target]);
    }
    const loops: string[] = [];
    const visit = (node: string, path: string[]) => {
      for (const next of graph.get(node) ?? []) {
        if (path.includes(next)) loops.push([...path.slice(path.indexOf(next)), next].join(" -> "));
        else visit(next, [...path, next]);
      }
    };
    for (const node of graph.keys()) visit(node, [node]);
    expect(loops).toEqual([]);
  });

  it("ships exactly the packages src/ imports: every dependency used, every import declared", () => {
    const manifest = JSON.parse(readFileSync(join(SRC, "..", "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
    const declared = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }).sort();
    const imported = new Set<string>();
    for (const file of files(SRC)) {
      for (const match of readFileSync(file, "utf8").matchAll(/(?:from|import\() ?"([^."][^"]*)"/g)) {
        const name = match[1] as string;
        if (!name.startsWith("node:")) imported.add(name.startsWith("@") ? name.split("/").slice(0, 2).join("/") : (name.split("/")[0] as string));
      }
    }
    expect(declared).toEqual([...imported].sort());
  });
});

import { defineConfig } from "tsup";

// No source maps: the bundles are not minified, so stack traces read as the source does, and
// maps would more than double the package. The CLI is ESM and shares its code with the ESM
// entry through a chunk instead of carrying a second copy of the SDK and its scripts.
export default defineConfig([
  {
    entry: { index: "src/index.ts" },
    format: ["cjs"],
    dts: true,
    clean: true,
    target: "node20",
  },
  {
    entry: { index: "src/index.ts", cli: "src/cli/mathd.ts" },
    format: ["esm"],
    dts: { entry: { index: "src/index.ts" } },
    splitting: true,
    target: "node20",
  },
]);

// Fails when consumer.ts does not import every export of the installed package: a new export
// must get a use in the consumer check, so its types are checked as a consumer sees them.
// usage: node coverage.cjs <path to typescript> <project dir>
const ts = require(process.argv[2]);
const path = require("node:path");
const project = process.argv[3];
const configPath = path.join(project, "tsconfig.json");
const config = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, project);
const program = ts.createProgram(config.fileNames, config.options);
const checker = program.getTypeChecker();
const source = program.getSourceFile(path.join(project, "consumer.ts"));
const declaration = source.statements.find(
  (s) => ts.isImportDeclaration(s) && s.moduleSpecifier.text === "math-dispatcher",
);
const imported = new Set(declaration.importClause.namedBindings.elements.map((e) => (e.propertyName ?? e.name).text));
const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(declaration.moduleSpecifier)).map((s) => s.name);
const missing = exported.filter((name) => !imported.has(name));
if (missing.length > 0) {
  console.error(`consumer.ts does not use these public exports: ${missing.join(", ")}`);
  process.exit(1);
}
console.log(`consumer.ts uses all ${exported.length} public exports`);

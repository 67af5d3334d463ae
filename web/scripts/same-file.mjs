// Fails when the committed API types differ from those generated from openapi.yaml just now.
import { readFileSync, rmSync } from "node:fs";

const [committed, fresh] = process.argv.slice(2);
const same = readFileSync(committed, "utf8") === readFileSync(fresh, "utf8");
rmSync(fresh, { force: true });
if (!same) {
  console.error(`${committed} is stale against openapi.yaml: run \`npm run gen:api\` in web/ and commit it.`);
  process.exit(1);
}
console.log(`${committed} matches openapi.yaml`);

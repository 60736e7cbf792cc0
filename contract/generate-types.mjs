// TypeScript types of the CAS API with openapi-typescript, binary parts typed as Blob.
//
// openapi-typescript renders every `type: string` as `string`; its documented way to type file
// parts (`format: binary`) is the Node API's `transform` option, used here, so a browser Blob
// or File can be sent as an upload (and a download read as one). `defaultNonNullable: false`
// keeps a request field that has a server-side default optional, as the API treats it.
//
//   node generate-types.mjs <openapi.json file or URL> <output.ts>
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node generate-types.mjs <openapi.json> <output.ts>");
  process.exit(2);
}
const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"));
const NULL = ts.factory.createLiteralTypeNode(ts.factory.createNull());

const source = /^https?:\/\//.test(input) ? new URL(input) : pathToFileURL(path.resolve(input));
const ast = await openapiTS(source, {
  defaultNonNullable: false,
  transform(schemaObject) {
    if (schemaObject.format === "binary") {
      const nullable = Array.isArray(schemaObject.type) && schemaObject.type.includes("null");
      return nullable ? ts.factory.createUnionTypeNode([BLOB, NULL]) : BLOB;
    }
    return undefined;
  },
});
fs.mkdirSync(path.dirname(output), { recursive: true });
fs.writeFileSync(output, astToString(ast));
console.log(`wrote ${output}`);

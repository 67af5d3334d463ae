// The API reference at /api/docs: Swagger UI, bundled from npm (no CDN, works offline), over the
// repository's own openapi.yaml, which the build copies in as a hashed asset.
import "swagger-ui-dist/swagger-ui.css";
import SwaggerUI from "swagger-ui-dist/swagger-ui-es-bundle.js";
import "./docs.css";
import specUrl from "../../../openapi.yaml?url";

SwaggerUI({
  url: specUrl,
  dom_id: "#reference",
  // Deep links put a link inside each operation's toggle button (axe: nested-interactive).
  deepLinking: false,
  tryItOutEnabled: false,
  onComplete: () => {
    // Swagger UI leaves its server picker unnamed (axe: select-name).
    document.querySelector("#servers")?.setAttribute("aria-label", "Server");
  },
});

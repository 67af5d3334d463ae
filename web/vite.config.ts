import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` serves the app with hot reload and sends API calls to the local server, so the
// browser still sees one origin (the refresh cookie is SameSite=Strict).
const api = process.env.TICKETING_API ?? "http://127.0.0.1:3000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/api": api,
      "/health": api,
    },
  },
  build: {
    target: "es2022",
    sourcemap: false,
    // Swagger UI is one large chunk on the reference page only; the app has its own budget.
    chunkSizeWarningLimit: 1600,
    rolldownOptions: {
      // The app, and the API reference page (its own bundle: the app never loads it).
      input: { app: "index.html", docs: "api-docs.html" },
    },
  },
});
